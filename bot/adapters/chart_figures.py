"""What a chart shows, in plain, already translated words and numbers: the description
``bot.adapters.charts`` draws. Kept apart from the drawing so that describing a chart (and
starting the bot) does not load matplotlib, which only the first picture needs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["Figure", "Plot", "Shape"]


class Shape(StrEnum):
    BARS = "bars"  # side by side per category
    LINE = "line"
    LEVEL = "level"  # a line of steps: a balance held until it changes
    ACROSS = "across"  # horizontal bars, the first category on top (rankings)


@dataclass(frozen=True)
class Plot:
    name: str
    values: Sequence[float]
    shape: Shape = Shape.BARS
    secondary: bool = False  # on the right-hand axis, with ``Figure.secondary_format``


@dataclass(frozen=True)
class Figure:
    title: str
    categories: Sequence[str]
    plots: Sequence[Plot]
    value_format: Callable[[float], str] = str
    secondary_format: Callable[[float], str] | None = None
    empty: str = ""  # said across the picture when every value is zero
    rtl: bool = False
    notes: Sequence[str] = field(default_factory=tuple)  # under the title
