"""Buttons of the chart screens, ``ch:<family>:...``; one codec per family.

The data says which button was tapped and what it names: the chart, the window and step,
a reseller's Telegram id (0: whoever the asker sees) and whether its subtree counts (1)
or not (0). Whether the asker may see that is looked up in the database on every tap
(``charts_data.scope``).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.charts_data import Chart, Step, Window
from handlers.callback_codecs import matched

PREFIX = "ch"
_ID = r"(\d{1,19})"
_SUB = "([01])"
_CHART = "([" + "".join(c.value for c in Chart) + "])"
_WINDOW = "(" + "|".join(w.value for w in Window) + ")"
_STEP = "([" + "".join(s.value for s in Step) + "])"


@dataclass(frozen=True)
class Whose:
    reseller: int  # a Telegram id, 0: everyone the asker sees
    subtree: bool


@dataclass(frozen=True)
class Drawing:
    chart: Chart
    window: Window
    step: Step
    whose: Whose


def _flag(whose: Whose) -> int:
    return 1 if whose.subtree else 0


@dataclass(frozen=True)
class Menu:
    """📊 Charts: which chart, ``ch:m:<reseller>:<subtree>``."""

    def build(self, whose: Whose) -> str:
        return keyboards.data(PREFIX, "m", whose.reseller, _flag(whose))

    def pattern(self) -> str:
        return rf"^{PREFIX}:m:{_ID}:{_SUB}$"

    def parse(self, context: BotContext) -> Whose:
        match = matched(context)
        return Whose(int(match.group(1)), match.group(2) == "1")


@dataclass(frozen=True)
class Pick:
    """A chart picked that covers a period: ``ch:p:<chart>:<reseller>:<subtree>``."""

    def build(self, chart: Chart, whose: Whose) -> str:
        return keyboards.data(PREFIX, "p", chart.value, whose.reseller, _flag(whose))

    def pattern(self) -> str:
        return rf"^{PREFIX}:p:{_CHART}:{_ID}:{_SUB}$"

    def parse(self, context: BotContext) -> tuple[Chart, Whose]:
        match = matched(context)
        return Chart(match.group(1)), Whose(int(match.group(2)), match.group(3) == "1")


@dataclass(frozen=True)
class Draw:
    """Draw it, ``ch:<g|t>:<chart>:<window>:<step>:<reseller>:<subtree>``: as a picture
    (``g``) or as a table (``t``)."""

    family: str

    def build(self, drawing: Drawing) -> str:
        whose = drawing.whose
        return keyboards.data(PREFIX, self.family, drawing.chart.value, drawing.window.value,
                              drawing.step.value, whose.reseller, _flag(whose))  # fmt: skip

    def pattern(self) -> str:
        return rf"^{PREFIX}:{self.family}:{_CHART}:{_WINDOW}:{_STEP}:{_ID}:{_SUB}$"

    def parse(self, context: BotContext) -> Drawing:
        match = matched(context)
        whose = Whose(int(match.group(4)), match.group(5) == "1")
        return Drawing(Chart(match.group(1)), Window(match.group(2)), Step(match.group(3)), whose)


MENU = Menu()
PICK = Pick()
PICTURE = Draw("g")
TABLE = Draw("t")
