"""Charts as PNG images: a figure described in plain, already translated words and numbers
in, the picture's bytes out.

Drawn with matplotlib's Agg canvas on a ``Figure`` of its own (never pyplot's global
state), in a worker thread (``asyncio.to_thread``), one drawing at a time: matplotlib is
not thread-safe (its font and text caches are shared), and each drawing holds its
canvas's memory.

Right-to-left text (Persian, Arabic): matplotlib built with libraqm (the 3.11 wheels)
joins the letters and orders the text itself, honouring the isolates that keep an amount
or a date whole; a right-to-left line is wrapped in RLI..PDI so that it reads from the
right. An older matplotlib draws code points as they come, so there the text is shaped
first (arabic-reshaper joins the letters, python-bidi puts them in visual order) and the
invisible direction marks, which the font has no glyphs for, are dropped. DejaVu Sans,
shipped with matplotlib, has the Arabic letters and their presentation forms, Persian's
extra letters and both Eastern digit sets (tests/test_chart_pictures.py checks).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Sequence

import arabic_reshaper
import matplotlib
from bidi import get_display
from matplotlib import ft2font
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.container import BarContainer
from matplotlib.figure import Figure as Canvas
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.adapters.chart_figures import Figure, Plot, Shape

__all__ = ["NATIVE_LAYOUT", "Figure", "Plot", "Shape", "render", "shaped"]

FONT = "DejaVu Sans"
PALETTE = ("#2f6fdf", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1", "#9c755f")
INK, GRID = "#333333", "#dddddd"
_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")
NATIVE_LAYOUT = bool(getattr(ft2font, "__libraqm_version__", ""))
RLI, PDI = "\u2067", "\u2069"
# Direction marks (FSI/PDI around an amount, LRM, ...), for the drawing without libraqm.
_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")

_DRAWING = threading.Lock()  # one picture at a time, whatever the threads asking

matplotlib.use("Agg")
# One style for every chart, set once here: an rc_context per drawing would change the
# shared settings under a drawing in another thread.
matplotlib.rcParams.update(
    {"font.family": FONT, "font.size": 9, "axes.edgecolor": "#999999",
     "axes.labelcolor": INK, "xtick.color": INK, "ytick.color": INK}
)  # fmt: skip


def shaped(text: str, rtl: bool = False, *, native: bool = NATIVE_LAYOUT) -> str:
    """``text`` as it must be handed to matplotlib: a right-to-left line if ``rtl``, an
    isolated amount or date kept whole; without libraqm (``native``), letters joined and
    in visual order."""
    if native:
        return f"{RLI}{text}{PDI}" if rtl else text
    if _ARABIC.search(text) or rtl:
        text = str(get_display(arabic_reshaper.reshape(text), base_dir="R" if rtl else None))
    return _MARKS.sub("", text)


def _formatter(write: Callable[[float], str], rtl: bool) -> FuncFormatter:
    return FuncFormatter(lambda value, _position: shaped(write(value), rtl))


def _thin(labels: Sequence[str], most: int = 16) -> list[str]:
    """Every n-th category label, so that a month of days stays readable."""
    every = max(1, -(-len(labels) // most))
    return [label if n % every == 0 else "" for n, label in enumerate(labels)]


def _draw(canvas: Canvas, figure: Figure) -> None:
    axes = canvas.add_subplot()
    rtl = figure.rtl
    names = [shaped(c, rtl) for c in figure.categories]
    positions = list(range(len(names)))
    bars = [p for p in figure.plots if p.shape == Shape.BARS and not p.secondary]
    width = 0.8 / max(1, len(bars))
    right = axes.twinx() if any(p.secondary for p in figure.plots) else None
    handles: list[Artist | BarContainer] = []
    for n, plot in enumerate(figure.plots):
        colour = PALETTE[n % len(PALETTE)]
        target = right if plot.secondary and right is not None else axes
        label = shaped(plot.name, rtl)
        if plot.shape == Shape.ACROSS:
            handles.append(target.barh(positions, plot.values, color=colour, label=label))
        elif plot.shape in (Shape.LINE, Shape.LEVEL):
            steps = "steps-mid" if plot.shape == Shape.LEVEL else "default"
            (line,) = target.plot(positions, plot.values, color=colour, marker="o",
                                  markersize=3, linewidth=2, label=label,
                                  drawstyle=steps)  # fmt: skip
            handles.append(line)
        else:
            k = bars.index(plot)
            shift = (k - (len(bars) - 1) / 2) * width
            spots = [x + shift for x in positions]
            handles.append(target.bar(spots, plot.values, width, color=colour, label=label))
    across = any(p.shape == Shape.ACROSS for p in figure.plots)
    if across:
        axes.set_yticks(positions, names)
        axes.invert_yaxis()
        axes.xaxis.set_major_formatter(_formatter(figure.value_format, rtl))
        axes.grid(axis="x", color=GRID)
    else:
        axes.set_xticks(positions, _thin(names), rotation=45 if len(names) > 8 else 0,
                        ha="right" if len(names) > 8 else "center")  # fmt: skip
        axes.yaxis.set_major_formatter(_formatter(figure.value_format, rtl))
        axes.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True, min_n_ticks=1))
        axes.grid(axis="y", color=GRID)
        axes.set_ylim(bottom=min(0.0, *(min(p.values, default=0) for p in figure.plots)))
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if right is not None and figure.secondary_format is not None:
        right.yaxis.set_major_formatter(_formatter(figure.secondary_format, rtl))
        right.set_ylim(bottom=0)
        right.spines["top"].set_visible(False)
    title = shaped(figure.title, rtl)
    if figure.notes:
        title += "\n" + "\n".join(shaped(note, rtl) for note in figure.notes)
    axes.set_title(title, loc="right" if rtl else "left", color=INK, fontsize=10)
    if len(figure.plots) > 1:
        # Under the plot, below the day labels: never over a bar nor the title.
        below = -0.24 if len(names) > 8 and not across else -0.1
        axes.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, below),
                    ncol=len(handles), frameon=False, fontsize=8)  # fmt: skip
    values = [v for p in figure.plots for v in p.values]
    if figure.empty and not any(values):
        axes.text(0.5, 0.5, shaped(figure.empty, rtl), transform=axes.transAxes, ha="center",
                  va="center", color="#888888", fontsize=12)  # fmt: skip


def render(figure: Figure, *, width: float = 8.0, height: float = 4.5, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (``width`` by ``height`` inches at ``dpi``)."""
    with _DRAWING:
        canvas = Canvas(figsize=(width, height), dpi=dpi, layout="tight")
        FigureCanvasAgg(canvas)
        _draw(canvas, figure)
        out = io.BytesIO()
        canvas.savefig(out, format="png", dpi=dpi, facecolor="white")
    return out.getvalue()
