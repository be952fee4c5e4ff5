"""The few texts of sub-resellers that other features show: the home menu's entry and who
was on the other side of a movement in a reseller's history. Kept apart from the feature's
screens so the home menu and the wallet can import them alone."""

from __future__ import annotations

from telegram import InlineKeyboardButton

from bot import keyboards
from bot.i18n import Translator
from handlers.downline import callbacks as buttons
from handlers.reader import Reader


def menu_button(t: Translator) -> InlineKeyboardButton:
    """The home menu's entry, for a reseller allowed sub-resellers."""
    return keyboards.button(t._("👥 Sub-resellers"), buttons.LIST.build(0))


def other_party(amount: int, name: str, r: Reader) -> str:
    """Said after a movement's kind in a history line: to whom, or from whom."""
    if amount >= 0:
        return r.t._("from {name}", name=r.name(name))
    return r.t._("to {name}", name=r.name(name))
