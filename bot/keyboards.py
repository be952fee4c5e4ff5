"""Inline keyboards and callback data.

Callback data is a short prefix and ids (``hist:3``), always under Telegram's 64 bytes.
It only says which button was tapped: who tapped it is always looked up on the server.
"""

from __future__ import annotations

from collections.abc import Collection

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.services.roles import Permission

MAX_CALLBACK_BYTES = 64

MENU = "menu"
BALANCE = "bal"
HISTORY = "hist"
HELP = "help"
LANGUAGE = "lang:ask"
ADMIN_RESELLERS = "adm:res"
ADMIN_AUDIT = "adm:audit"
ADMIN_DEBTORS = "adm:debt"  # who owes: handlers/admin/postpaid_callbacks.py parses it
ADMIN_CATALOGUE = "cat:menu"  # handlers/admin/catalogue_callbacks.py parses it
ADMIN_STAFF = "adm:staff"
ADMIN_REPORTS = "adm:rpt"  # the scheduled reports (handlers/admin/report_callbacks.py)
ADMIN_LOG = "alg:0:::::"  # the action log's first page, unfiltered (action_log_callbacks)
TOPUP_NEW = "tu:new"
SELF_PAY = "sp:menu"  # a reseller's customer prices in Stars (handlers.payments)
TOPUP_LIST = "tu:list"
TOPUP_PENDING = "tu:pending"
TOPUP_CANCEL_FLOW = "tu:cancel"
# The sale feature's menu entries (handlers/sale/callbacks.py parses them).
SALE_NEW = "cu:new"
SALE_RENEW = "cu:renew"
SALE_CUSTOMERS = "cu:l:all:0"
TRANSFER_NEW = "xf:new"  # handlers/transfer/callbacks.py parses it
EXPORT = "ex:m:0"  # the export screen (handlers/exports/callbacks.py parses it)
ANNOUNCE = "an:new"  # compose an announcement (handlers/announce/callbacks.py parses it)
CHARTS = "ch:m:0:1"  # the charts, subtree included (handlers/charts/callbacks.py parses it)


def data(*parts: object) -> str:
    value = ":".join(str(p) for p in parts)
    if len(value.encode()) > MAX_CALLBACK_BYTES:
        raise ValueError(f"callback data over {MAX_CALLBACK_BYTES} bytes: {value!r}")
    return value


def button(text: str, *parts: object) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data(*parts))


def reseller_menu(
    t: Translator, extra: list[InlineKeyboardButton] | None = None
) -> InlineKeyboardMarkup:
    """``extra``: a row of buttons some resellers have (their sub-resellers)."""
    return InlineKeyboardMarkup(
        [
            [button(t._("💰 Balance"), BALANCE), button(t._("➕ Top up"), TOPUP_NEW)],
            [button(t._("👤 New customer"), SALE_NEW), button(t._("🔁 Renew"), SALE_RENEW)],
            [
                button(t._("👥 Customers"), SALE_CUSTOMERS),
                button(t._("🧾 My top-ups"), TOPUP_LIST),
            ],
            [button(t._("📜 History"), HISTORY, 0), button(t._("🌐 Language"), LANGUAGE)],
            *([extra] if extra else []),
            [button(t._("📣 Announce"), ANNOUNCE)],
            [button(t._("💸 Transfer"), TRANSFER_NEW), button(t._("❓ Help"), HELP)],
        ]
    )


def admin_menu(
    t: Translator, permissions: Collection[Permission], *, owner: bool
) -> InlineKeyboardMarkup:
    """The buttons ``permissions`` allow (an owner's allow them all), and Staff for owners."""

    def allowed(permission: Permission, entry: InlineKeyboardButton) -> list[InlineKeyboardButton]:
        return [entry] if permission in permissions else []

    rows = [
        allowed(Permission.TOPUPS, button(t._("🧾 Pending top-ups"), TOPUP_PENDING)),
        allowed(Permission.RESELLERS, button(t._("👥 Resellers"), ADMIN_RESELLERS, 0))
        + allowed(Permission.REPORTS, button(t._("🧮 Ledger audit"), ADMIN_AUDIT)),
        allowed(Permission.REPORTS, button(t._("💸 Who owes"), ADMIN_DEBTORS, 0))
        + allowed(Permission.REPORTS, button(t._("📜 Action log"), ADMIN_LOG)),
        allowed(Permission.REPORTS, button(t._("📤 Export"), EXPORT))
        + allowed(Permission.REPORTS, button(t._("📊 Charts"), CHARTS)),
        allowed(Permission.CATALOGUE, button(t._("🗂 Catalogue"), ADMIN_CATALOGUE)),
        allowed(Permission.ANNOUNCEMENTS, button(t._("📣 Announce"), ANNOUNCE)),
        [button(t._("👮 Staff"), ADMIN_STAFF, 0)] if owner else [],
        [button(t._("🗓 Scheduled reports"), ADMIN_REPORTS)] if owner else [],
        [button(t._("🌐 Language"), LANGUAGE), button(t._("❓ Help"), HELP)],
    ]
    return InlineKeyboardMarkup([row for row in rows if row])


def balance_actions(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [button(t._("➕ Top up"), TOPUP_NEW), button(t._("🧾 My top-ups"), TOPUP_LIST)],
            [button(t._("⭐ Customers pay in Stars"), SELF_PAY)],
            [button(t._("📤 Export"), EXPORT), button(t._("📊 Charts"), CHARTS)],
            [button(t._("⬅️ Menu"), MENU)],
        ]
    )


def back_to_menu(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[button(t._("⬅️ Menu"), MENU)]])


def pager(prefix: str, page: int, pages: int, t: Translator) -> InlineKeyboardMarkup:
    """Previous / next buttons for a paginated list, and the way back to the menu."""
    row = []
    if page > 0:
        back = t._("◀️ Newer") if prefix == HISTORY else t._("◀️ Previous")
        row.append(button(back, prefix, page - 1))
    if page < pages - 1:
        forward = t._("Older ▶️") if prefix == HISTORY else t._("Next ▶️")
        row.append(button(forward, prefix, page + 1))
    rows = [row] if row else []
    rows.append([button(t._("⬅️ Menu"), MENU)])
    return InlineKeyboardMarkup(rows)
