"""Buttons of the sub-resellers feature: one codec per family, ``dl:<family>[:...]``.

Data only says which button was tapped: whether the one who tapped may see or move the
credits of the sub-reseller it names is looked up in the database every time (a parent
sees its own subtree only), and an admin's buttons check the admin's permission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.credits import Action
from handlers.calendar import Calendar
from models import TxType

PREFIX = "dl"
_ID = r"(\d{1,19})"
_N = r"(\d{1,6})"
_NONCE = r"([\w-]{1,32})"


def _groups(context: BotContext) -> tuple[str, ...]:
    assert context.matches, "only for handlers routed by this codec's pattern"
    match: re.Match[str] = context.matches[0]
    return match.groups()


@dataclass(frozen=True)
class Plain:
    """``dl:<family>``."""

    family: str

    def build(self) -> str:
        return keyboards.data(PREFIX, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}$"


@dataclass(frozen=True)
class One:
    """One number: a page, or a sub-reseller's Telegram id: ``dl:<family>:<n>``."""

    family: str

    def build(self, value: int) -> str:
        return keyboards.data(PREFIX, self.family, value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}$"

    def parse(self, context: BotContext) -> int:
        return int(_groups(context)[0])


@dataclass(frozen=True)
class Two:
    """A sub-reseller and a number (a page, a depth): ``dl:<family>:<id>:<n>``."""

    family: str

    def build(self, telegram_id: int, value: int) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:{_N}$"

    def parse(self, context: BotContext) -> tuple[int, int]:
        telegram_id, value = _groups(context)
        return int(telegram_id), int(value)


@dataclass(frozen=True)
class Word:
    """A sub-reseller and one of a few words: ``dl:<family>:<id>:<word>``."""

    family: str
    words: tuple[str, ...]

    def build(self, telegram_id: int, word: str) -> str:
        assert word in self.words
        return keyboards.data(PREFIX, self.family, telegram_id, word)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:({'|'.join(self.words)})$"

    def parse(self, context: BotContext) -> tuple[int, str]:
        telegram_id, word = _groups(context)
        return int(telegram_id), word


@dataclass(frozen=True)
class Nonce:
    """Save, keyed by the summary's nonce: ``dl:<family>:<id>:<nonce>``."""

    family: str

    def build(self, telegram_id: int, nonce: str) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, nonce)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:{_NONCE}$"

    def parse(self, context: BotContext) -> tuple[int, str]:
        telegram_id, nonce = _groups(context)
        return int(telegram_id), nonce


# The reseller's screens.
LIST = One("l")  # a page of the sub-resellers
CARD = One("c")  # a sub-reseller's card
CUSTOMERS = Two("cu")  # a page of its customers
SALES = Two("sa")  # a page of its sales
# Registering one.
NEW = Plain("new")
NEW_SAVE = Nonce("ns")  # the id is the newcomer's
NEW_CANCEL = Plain("nx")
# Moving credits to or from one (the id is the sub-reseller's).
CREDITS = One("a")
ACTION = Word("aa", tuple(a.value for a in Action))
TYPE = Word("at", tuple(t.value for t in TxType))
SKIP = One("ak")  # no comment, or no expiry
SAVE = Nonce("as")
CALENDAR = Calendar(PREFIX, "ad")
# The admin: how deep a reseller's downline may go.
DEPTH_MENU = One("dm")
DEPTH = Two("dp")
# The request_id of the reply keyboard's user picker that names a new sub-reseller:
# not the admins' pickers' (1 and 2), so an old one left on a keyboard names nobody here.
PICKER = 3
