"""Buttons of the add / remove credit form: one codec per family, ``adm:<family>:...``
like the rest of the admin's, each naming the reseller whose form it belongs to.

Data only says which button was tapped: whether the one who tapped may manage credits is
looked up on the server every time, and a button naming another reseller than the form
under way changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.credits import Action
from handlers.admin.callbacks import PREFIX, ByReseller
from handlers.calendar import Calendar
from models import TxType

_ID = r"(\d{1,19})"
_NONCE = r"([\w-]{1,32})"


def _groups(context: BotContext) -> tuple[str, ...]:
    assert context.matches, "only for handlers routed by this codec's pattern"
    match: re.Match[str] = context.matches[0]
    return match.groups()


@dataclass(frozen=True)
class ActionChoice:
    """Add or remove: ``adm:<family>:<telegram id>:<action>``."""

    family: str

    def build(self, telegram_id: int, action: Action) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, action.value)

    def pattern(self) -> str:
        actions = "|".join(a.value for a in Action)
        return f"^{PREFIX}:{self.family}:{_ID}:({actions})$"

    def parse(self, context: BotContext) -> tuple[int, Action]:
        telegram_id, action = _groups(context)
        return int(telegram_id), Action(action)


@dataclass(frozen=True)
class TypeChoice:
    """Purchase or adjustment: ``adm:<family>:<telegram id>:<type>``."""

    family: str

    def build(self, telegram_id: int, tx_type: TxType) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, tx_type.value)

    def pattern(self) -> str:
        types = "|".join(t.value for t in TxType)
        return f"^{PREFIX}:{self.family}:{_ID}:({types})$"

    def parse(self, context: BotContext) -> tuple[int, TxType]:
        telegram_id, tx_type = _groups(context)
        return int(telegram_id), TxType(tx_type)


@dataclass(frozen=True)
class Save:
    """Save, keyed by the nonce minted with the summary: ``adm:<family>:<telegram id>:<nonce>``."""

    family: str

    def build(self, telegram_id: int, nonce: str) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, nonce)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:{_NONCE}$"

    def parse(self, context: BotContext) -> tuple[int, str]:
        telegram_id, nonce = _groups(context)
        return int(telegram_id), nonce


OPEN = ByReseller("cr")  # on the reseller card: opens the form
ACTION = ActionChoice("cra")
TYPE = TypeChoice("crt")
SKIP = ByReseller("crk")  # the comment or the expiry: none
SAVE = Save("crs")
CALENDAR = Calendar(PREFIX, "crd")  # the expiry date's calendar; its scope is the reseller
