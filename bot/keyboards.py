"""Inline keyboards and callback data.

Callback data is a short prefix and ids (``hist:3``), always under Telegram's 64 bytes.
It only says which button was tapped: who tapped it is always looked up on the server.
"""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

MAX_CALLBACK_BYTES = 64

MENU = "menu"
BALANCE = "bal"
HISTORY = "hist"
HELP = "help"
ADMIN_RESELLERS = "adm:res"
ADMIN_AUDIT = "adm:audit"
TOPUP_NEW = "tu:new"
TOPUP_LIST = "tu:list"
TOPUP_PENDING = "tu:pending"
TOPUP_CANCEL_FLOW = "tu:cancel"


def data(*parts: object) -> str:
    value = ":".join(str(p) for p in parts)
    if len(value.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {value!r}")
    return value


def button(text: str, *parts: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data(*parts))


def reseller_menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button("💰 Balance", BALANCE), button("➕ Top up", TOPUP_NEW)],
            [button("👤 New customer", "cu:new"), button("🔁 Renew", "cu:renew")],
            [button("👥 Customers", "cu:l:all:0"), button("🧾 My top-ups", TOPUP_LIST)],
            [button("📜 History", HISTORY, 0), button("❓ Help", HELP)],
        ]
    )


def admin_menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button("🧾 Pending top-ups", TOPUP_PENDING)],
            [button("👥 Resellers", ADMIN_RESELLERS, 0), button("🧮 Ledger audit", ADMIN_AUDIT)],
            [button("❓ Help", HELP)],
        ]
    )


def balance_actions() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button("➕ Top up", TOPUP_NEW), button("🧾 My top-ups", TOPUP_LIST)],
            [button("⬅️ Menu", MENU)],
        ]
    )


def back_to_menu() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button("⬅️ Menu", MENU)]])


def pager(prefix: str, page: int, pages: int) -> InlineKeyboardMarkup:
    """Previous / next buttons for a paginated list, and the way back to the menu."""
    row = []
    if page > 0:
        row.append(button("◀️ Newer" if prefix == HISTORY else "◀️ Previous", prefix, page - 1))
    if page < pages - 1:
        row.append(button("Older ▶️" if prefix == HISTORY else "Next ▶️", prefix, page + 1))
    rows = [row] if row else []
    rows.append([button("⬅️ Menu", MENU)])
    return InlineKeyboardMarkup(rows)
