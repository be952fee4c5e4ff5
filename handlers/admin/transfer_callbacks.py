"""Buttons of a reseller's transfers screen (from its card): one codec per family,
``adm:<family>:<telegram id>[:value]`` like the rest of the admin's.

Data only says which button was tapped: whether the one who tapped may manage credits is
looked up on the server every time, and a transfer named by a button must be one the
reseller named beside it sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from handlers.admin.callbacks import PREFIX, ByReseller
from handlers.admin.reseller_callbacks import ResellerPage

_ID = r"(\d{1,19})"


def _match(context: BotContext) -> re.Match[str]:
    assert context.matches, "only for handlers routed by this codec's pattern"
    return context.matches[0]


@dataclass(frozen=True)
class Allow:
    """Allow or forbid sending: ``adm:<family>:<telegram id>:<1|0>``. The data says what
    the tap asks for, so a second tap on the same button changes nothing."""

    family: str

    def build(self, telegram_id: int, allowed: bool) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, int(allowed))

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:([01])$"

    def parse(self, context: BotContext) -> tuple[int, bool]:
        match = _match(context)
        return int(match.group(1)), match.group(2) == "1"


@dataclass(frozen=True)
class ByTransfer:
    """A button about one transfer of a reseller: ``adm:<family>:<telegram id>:<id>``."""

    family: str

    def build(self, telegram_id: int, transfer_id: int) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, transfer_id)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:{_ID}$"

    def parse(self, context: BotContext) -> tuple[int, int]:
        match = _match(context)
        return int(match.group(1)), int(match.group(2))


SCREEN = ResellerPage("xf")  # the transfers screen, a page of the list
ALLOW = Allow("xfa")
LIMIT = ByReseller("xfl")  # asks for the daily limit
CLEAR = ByReseller("xfc")  # clears it
REVERSE = ByTransfer("xfr")  # asks for the reason
CONFIRM = ByTransfer("xfy")  # reverses it
