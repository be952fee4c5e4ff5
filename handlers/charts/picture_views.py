"""A chart's series in the reader's words: as the figure the adapter draws, and as the
table the "As a table" button sends (the same numbers, for those who prefer text)."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from bot.adapters.chart_figures import Figure, Plot, Shape
from bot.services.charts_data import LEVELS, Chart, ChartData
from handlers.charts.views import (
    amount,
    bare_amount,
    bucket_label,
    chart_title,
    figures,
    nothing,
    period_text,
    table_heading,
)
from handlers.charts.views import series_name as name_of
from handlers.pages import plain
from handlers.reader import Reader

COUNTS = frozenset({"activations", "renewals", "orders", "customers"})
MAX_TABLE = 3_500  # characters in one message, well under Telegram's 4096


def _counting(r: Reader) -> Callable[[float], str]:
    return lambda value: r.number(round(value))


def _money(r: Reader) -> Callable[[float], str]:
    return lambda value: bare_amount(round(value * 100), r)


def figure(data: ChartData, r: Reader) -> Figure:
    """What the adapter draws: counts as bars, amounts in credits (a sales chart's on the
    right-hand axis, as a line), balances and debt as a line."""
    t = r.t
    categories = [plain(bucket_label(b, data.step, data, r)) for b in data.buckets]
    plots: list[Plot] = []
    for series in data.series:
        counting = series.key in COUNTS
        values = [v if counting else v / 100 for v in series.values]
        shape = Shape.BARS
        secondary = data.chart == Chart.SALES and not counting
        if data.chart in LEVELS:
            shape = Shape.LEVEL
        elif secondary:
            shape = Shape.LINE
        elif data.chart == Chart.TOP:
            shape = Shape.ACROSS
        if data.chart == Chart.TOP and counting:
            continue  # the ranking is by amount; the counts are in the caption and table
        plots.append(Plot(name_of(series.key, t), values, shape, secondary))
    counts_only = all(s.key in COUNTS for s in data.series)
    title = plain(f"{chart_title(data.chart, t)} · {period_text(data.period, r)}")
    return Figure(
        title=title,
        categories=categories,
        plots=plots,
        value_format=_counting(r) if counts_only or data.chart == Chart.SALES else _money(r),
        secondary_format=_money(r) if data.chart == Chart.SALES else None,
        empty=nothing(t),
        rtl=t.rtl,
        notes=[plain(line) for line in figures(data, r)[:3]],
    )


def _cell(value: int, key: str, data: ChartData, r: Reader, bucket: int | None) -> str:
    """A table's cell: a count, an amount without its currency (the heading says it), or
    an income with its own currency."""
    if key in COUNTS or data.chart == Chart.INCOME:
        return plain(amount(value, key, data, r, bucket))
    return bare_amount(value, r)


def table(data: ChartData, r: Reader) -> list[str]:
    """The chart's numbers as a monospaced table: one message, or a few for a long one."""
    t = r.t
    header = [name_of(s.key, t) for s in data.series]
    rows = [
        [plain(bucket_label(bucket, data.step, data, r))]
        + [_cell(s.values[n], s.key, data, r, n) for s in data.series]
        for n, bucket in enumerate(data.buckets)
    ]
    if data.chart not in LEVELS and data.chart not in (Chart.EXPIRIES, Chart.INCOME) and rows:
        rows.append([t._("Total"), *(_cell(s.total, s.key, data, r, None) for s in data.series)])
    widths = [max(len(row[i]) for row in [["", *header], *rows]) for i in range(len(header) + 1)]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        padded = (c.rjust(w) for c, w in zip(rest, widths[1:], strict=True))
        return "  ".join([first.ljust(widths[0]), *padded])

    head = plain(table_heading(data, r))
    if any(s.key not in COUNTS for s in data.series) and data.chart != Chart.INCOME:
        head += "\n" + plain(t._("Amounts in {currency}", currency=r.currency))
    lines = [line(["", *header]), *(line(row) for row in rows)]
    if not rows:
        lines.append(nothing(t))
    messages: list[str] = []
    chunk: list[str] = []
    for text in lines:
        if chunk and sum(len(c) + 1 for c in chunk) + len(text) > MAX_TABLE:
            messages.append("\n".join(chunk))
            chunk = []
        chunk.append(text)
    messages.append("\n".join(chunk))
    return [
        (f"<b>{escape(head)}</b>\n" if n == 0 else "") + f"<pre>{escape(body)}</pre>"
        for n, body in enumerate(messages)
    ]
