"""What the admin sees of sub-resellers: the card's lines (parent, how many, how deep) and
the screen that sets how deep a reseller's downline may go."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.admin_log import ActionError
from bot.services.downline import MAX_DEPTH
from bot.services.reseller_search import ResellerCard
from handlers.admin import callbacks as admin_buttons
from handlers.downline import callbacks as buttons
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]


def card_lines(row: ResellerCard, r: Reader) -> list[str]:
    """The admin's reseller card: whose sub-reseller it is, and its own sub-resellers."""
    t, lines = r.t, []
    if row.parent_name:
        lines.append(t._("Sub-reseller of {name}", name=r.name(row.parent_name)))
    if row.downline_depth or row.sub_resellers:
        lines.append(
            t._(
                "Sub-resellers: {n} (levels allowed: {depth})",
                n=r.number(row.sub_resellers),
                depth=r.number(row.downline_depth),
            )
        )
    return lines


def depth_button(telegram_id: int, t: Translator) -> InlineKeyboardButton:
    """On the admin's edit menu."""
    return keyboards.button(t._("👥 Sub-reseller levels"), buttons.DEPTH_MENU.build(telegram_id))


def depth_menu(name: str, telegram_id: int, depth: int, r: Reader, problem: str = "") -> Screen:
    """Pick how many levels of sub-resellers the reseller may have (0: none)."""
    t = r.t
    text = t._(
        "👥 How many levels of sub-resellers may <b>{name}</b> have? Now: {depth}. "
        "0 allows none; 1 lets them register sub-resellers who cannot have their own.",
        name=r.name(name),
        depth=r.number(depth),
    )
    if problem:
        text = f"⚠️ {problem}\n\n{text}"
    choices = [
        keyboards.button(
            ("• " if n == depth else "") + r.number(n), buttons.DEPTH.build(telegram_id, n)
        )
        for n in range(MAX_DEPTH + 1)
    ]
    back = keyboards.button(t._("⬅️ Back"), admin_buttons.CARD.build(telegram_id))
    return text, InlineKeyboardMarkup([choices, [back]])


def depth_saved(depth: int, r: Reader) -> str:
    return r.t._("✅ Sub-reseller levels set to {depth}.", depth=r.number(depth))


def depth_refusal(exc: ActionError, r: Reader) -> str:
    if exc.code == "depth_above_parent":
        return r.t._(
            "Their parent leaves room for at most {limit} levels below them.",
            limit=r.number(int(str(exc.params.get("limit", 0)))),
        )
    return r.t._("Sorry, that could not be done. Nothing was changed.")
