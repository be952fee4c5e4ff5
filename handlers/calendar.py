"""An inline calendar any feature can put under a message: the codec of its buttons.

A feature makes one ``Calendar`` with its own callback prefix and family; the buttons it
builds carry a ``scope`` (an id the feature checks against its own state, e.g. whose form
the calendar belongs to) and a day to pick, a month to show, or nothing (a label or a day
not offered). ``handlers.calendar_views`` draws the month.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from enum import StrEnum

from bot import keyboards
from bot.context import BotContext


class TapKind(StrEnum):
    DAY = "d"  # a day was picked
    MONTH = "m"  # another month is to be shown
    NOTHING = "n"  # a label, a blank, or a day not offered


@dataclass(frozen=True)
class Tap:
    scope: int
    kind: TapKind
    day: dt.date | None  # the day picked, or the first day of the month to show


@dataclass(frozen=True)
class Calendar:
    """The buttons of one feature's calendar: ``<prefix>:<family>:<scope>:<kind>[:<date>]``."""

    prefix: str
    family: str

    def day(self, scope: int, day: dt.date) -> str:
        return keyboards.data(self.prefix, self.family, scope, TapKind.DAY, f"{day:%Y%m%d}")

    def month(self, scope: int, first: dt.date) -> str:
        return keyboards.data(self.prefix, self.family, scope, TapKind.MONTH, f"{first:%Y%m}")

    def nothing(self, scope: int) -> str:
        return keyboards.data(self.prefix, self.family, scope, TapKind.NOTHING)

    def pattern(self) -> str:
        return rf"^{self.prefix}:{self.family}:(\d{{1,19}}):([dmn])(?::(\d{{6}}|\d{{8}}))?$"

    def parse(self, context: BotContext) -> Tap:
        """What was tapped; a date that does not exist is read as nothing."""
        assert context.matches, "only for handlers routed by this codec's pattern"
        match: re.Match[str] = context.matches[0]
        scope, kind, value = int(match.group(1)), TapKind(match.group(2)), match.group(3)
        try:
            if kind == TapKind.DAY and value and len(value) == 8:
                return Tap(scope, kind, dt.datetime.strptime(value, "%Y%m%d").date())
            if kind == TapKind.MONTH and value and len(value) == 6:
                return Tap(scope, kind, dt.datetime.strptime(value, "%Y%m").date())
        except ValueError:
            pass
        return Tap(scope, TapKind.NOTHING, None)
