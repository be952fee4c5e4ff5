"""Buttons of the postpaid screens: recording cash received, the debtors list and a
reseller's statement; one codec per family, ``adm:<family>:...`` like the rest of the
admin's.

Data only says which button was tapped: whether the one who tapped may record cash or see
reports, and whether the reseller is postpaid, is looked up on the server every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.statements import Preset
from handlers.admin.callbacks import PREFIX, ByReseller, Page, Plain

_ID = r"(\d{1,19})"


def _match(context: BotContext) -> re.Match[str]:
    assert context.matches, "only for handlers routed by this codec's pattern"
    return context.matches[0]


@dataclass(frozen=True)
class Pick:
    """One of the choices the flow's screen listed, by its place: ``adm:<family>:<n>``."""

    family: str

    def build(self, index: int) -> str:
        return keyboards.data(PREFIX, self.family, index)

    def pattern(self) -> str:
        return rf"^{PREFIX}:{self.family}:(\d{{1,2}})$"

    def parse(self, context: BotContext) -> int:
        return int(_match(context).group(1))


@dataclass(frozen=True)
class Nonce:
    """A Save keyed by the nonce minted with its screen: ``adm:<family>:<nonce>``."""

    family: str

    def build(self, nonce: str) -> str:
        return keyboards.data(PREFIX, self.family, nonce)

    def pattern(self) -> str:
        return rf"^{PREFIX}:{self.family}:([\w-]{{1,32}})$"

    def parse(self, context: BotContext) -> str:
        return _match(context).group(1)


@dataclass(frozen=True)
class Period:
    """A ready-made period of one reseller's statement: ``adm:<family>:<id>:<preset>``."""

    family: str

    def build(self, telegram_id: int, preset: Preset) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, preset.value)

    def pattern(self) -> str:
        presets = "|".join(p.value for p in Preset)
        return rf"^{PREFIX}:{self.family}:{_ID}:({presets})$"

    def parse(self, context: BotContext) -> tuple[int, Preset]:
        match = _match(context)
        return int(match.group(1)), Preset(match.group(2))


# Cash received, from a postpaid reseller's card.
CASH = ByReseller("cash")
CASH_METHOD = Pick("cashm")  # how it was paid, among the choices shown
CASH_SKIP = Plain("cashs")  # no reference, or no comment
CASH_SAVE = Nonce("cashok")
CASH_CANCEL = Plain("cashx")
# Who owes (the admin menu's entry), and a reseller's statement.
DEBTORS = Page("debt")  # also the admin menu's entry, bot.keyboards.ADMIN_DEBTORS
STATEMENT = ByReseller("stmt")  # asks for the period
STATEMENT_PERIOD = Period("stmtp")
STATEMENT_CANCEL = Plain("stmtx")
