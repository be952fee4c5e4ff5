"""Buttons of the owners' scheduled reports screen: ``adm:rpt`` shows it, ``adm:rpt:<name>:
<0|1>`` switches a report or a summary's section off or on.

The button says what it asks for (on or off), so a second tap changes nothing; whether the
one who tapped is an owner is looked up on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from handlers.admin.callbacks import PREFIX, Plain

FAMILY = keyboards.ADMIN_REPORTS.split(":")[1]
SCREEN = Plain(FAMILY)


@dataclass(frozen=True)
class Switch:
    """``adm:rpt:<name>:<0|1>``: a report or a section, and whether to switch it on."""

    family: str

    def build(self, name: str, enabled: bool) -> str:
        return keyboards.data(PREFIX, self.family, name, int(enabled))

    def pattern(self) -> str:
        return rf"^{PREFIX}:{self.family}:([a-z]{{1,16}}):([01])$"

    def parse(self, context: BotContext) -> tuple[str, bool]:
        assert context.matches, "only for handlers routed by this codec's pattern"
        match = context.matches[0]
        return match.group(1), match.group(2) == "1"


SWITCH = Switch(FAMILY)
