"""Buttons of the export screens, ``ex:<family>:...``; one codec per family.

The data says which button was tapped and what it names (a reseller's Telegram id, 0 for
"whoever the asker sees"; the kind; the period; the format). Whether the asker may have
that export is looked up in the database on every tap (``exports.scope``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot import keyboards
from bot.adapters.exports import Format
from bot.context import BotContext
from bot.services.exports import Kind
from bot.services.statements import Period, Preset
from handlers.callback_codecs import matched

PREFIX = "ex"
ALL_TIME = "all"
_ID = r"(\d{1,19})"
_KINDS = {
    Kind.HISTORY: "h",
    Kind.CUSTOMERS: "c",
    Kind.TOPUPS: "t",
    Kind.SALES: "s",
    Kind.ACTIONS: "a",
}
_KIND_OF = {code: kind for kind, code in _KINDS.items()}
_KIND = "([" + "".join(_KINDS.values()) + "])"
_PERIOD = "(" + "|".join([*(p.value for p in Preset), ALL_TIME]) + r"|\d{8}-\d{8})"
_FORMAT = "(" + "|".join(f.value for f in Format) + ")"


def typed(period: Period) -> str:
    """Two typed days as a button's period: ``20260101-20260131``."""
    return f"{period.first:%Y%m%d}-{period.last:%Y%m%d}"


def period_of(code: str) -> Preset | Period | None:
    """A button's period: a preset, two days, or None for all time; ValueError for days
    that do not exist or are reversed (a forged button)."""
    if code == ALL_TIME:
        return None
    if "-" not in code:
        return Preset(code)
    first, last = (dt.datetime.strptime(part, "%Y%m%d").date() for part in code.split("-"))
    if last < first:
        raise ValueError(code)
    return Period(first, last)


@dataclass(frozen=True)
class Menu:
    """📤 Export: what to export, for ``ex:m:<reseller>``."""

    def build(self, reseller: int = 0) -> str:
        return keyboards.data(PREFIX, "m", reseller)

    def pattern(self) -> str:
        return rf"^{PREFIX}:m:{_ID}$"

    def parse(self, context: BotContext) -> int:
        return int(matched(context).group(1))


@dataclass(frozen=True)
class Pick:
    """A kind picked: ``ex:k:<reseller>:<kind>`` (asks for the period)."""

    def build(self, reseller: int, kind: Kind) -> str:
        return keyboards.data(PREFIX, "k", reseller, _KINDS[kind])

    def pattern(self) -> str:
        return rf"^{PREFIX}:k:{_ID}:{_KIND}$"

    def parse(self, context: BotContext) -> tuple[int, Kind]:
        match = matched(context)
        return int(match.group(1)), _KIND_OF[match.group(2)]


@dataclass(frozen=True)
class When:
    """A period chosen: ``ex:p:<reseller>:<kind>:<period>`` (asks for the format)."""

    def build(self, reseller: int, kind: Kind, period: str) -> str:
        return keyboards.data(PREFIX, "p", reseller, _KINDS[kind], period)

    def pattern(self) -> str:
        return rf"^{PREFIX}:p:{_ID}:{_KIND}:{_PERIOD}$"

    def parse(self, context: BotContext) -> tuple[int, Kind, str]:
        match = matched(context)
        return int(match.group(1)), _KIND_OF[match.group(2)], match.group(3)


@dataclass(frozen=True)
class Make:
    """A format chosen: ``ex:f:<reseller>:<kind>:<period>:<format>`` (builds the file)."""

    def build(self, reseller: int, kind: Kind, period: str, kind_of_file: Format) -> str:
        return keyboards.data(PREFIX, "f", reseller, _KINDS[kind], period, kind_of_file.value)

    def pattern(self) -> str:
        return rf"^{PREFIX}:f:{_ID}:{_KIND}:{_PERIOD}:{_FORMAT}$"

    def parse(self, context: BotContext) -> tuple[int, Kind, str, Format]:
        match = matched(context)
        return (
            int(match.group(1)),
            _KIND_OF[match.group(2)],
            match.group(3),
            Format(match.group(4)),
        )


MENU = Menu()
PICK = Pick()
WHEN = When()
MAKE = Make()
CANCEL = "ex:x"
