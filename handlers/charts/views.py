"""Every text of the charts: the screens (which chart, which period), the names of the
charts, their series and buckets, the caption under each picture, and the refusals."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.charts_data import (
    OVER_TIME,
    PERIODIC,
    Chart,
    ChartData,
    ChartError,
    Step,
    Window,
    default_step,
)
from bot.services.statements import Period
from handlers.charts import callbacks as buttons
from handlers.charts.callbacks import Drawing, Whose
from handlers.downline.views import _state as customer_state
from handlers.pages import truncate
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]
CAPTION = 1024


def chart_title(chart: Chart, t: Translator) -> str:
    return {
        Chart.SALES: t._("Sales"),
        Chart.CREDITS: t._("Credits issued, spent and expired"),
        Chart.TOP: t._("Top resellers"),
        Chart.INCOME: t._("Income by payment method"),
        Chart.DEBT: t._("Postpaid debt"),
        Chart.STATES: t._("Customers by state"),
        Chart.EXPIRIES: t._("Expiries in the next 30 days"),
        Chart.BALANCE: t._("Balance over time"),
    }[chart]


def series_name(key: str, t: Translator) -> str:
    words = {
        "activations": t._("Activations"),
        "renewals": t._("Renewals"),
        "amount": t._("Amount"),
        "issued": t._("Issued"),
        "spent": t._("Spent"),
        "expired": t._("Expired"),
        "orders": t._("Sales count"),
        "debt": t._("Owed"),
        "balance": t._("Balance"),
        "customers": t._("Customers"),
    }
    return words.get(key, key)


def window_name(which: Window, t: Translator) -> str:
    return {
        Window.DAYS_7: t._("Last 7 days"),
        Window.DAYS_30: t._("Last 30 days"),
        Window.THIS_MONTH: t._("This month"),
        Window.LAST_MONTH: t._("Last month"),
        Window.DAYS_90: t._("Last 90 days"),
        Window.MONTHS_12: t._("Last 12 months"),
        Window.NEXT_30: t._("Next 30 days"),
    }[which]


def step_name(step: Step, t: Translator) -> str:
    return {Step.DAY: t._("Per day"), Step.WEEK: t._("Per week"), Step.MONTH: t._("Per month")}[
        step
    ]


def digits(text: str, r: Reader) -> str:
    """A date or a code written in the reader's digits."""
    return "".join(r.number(int(c)) if c.isdigit() else c for c in text)


def bucket_label(bucket: dt.date | str, step: Step | None, data: ChartData, r: Reader) -> str:
    """A bucket as the axis and the table name it: a day, a week's first day, a month, a
    customer state, a reseller's or a payment method's name."""
    if isinstance(bucket, str):
        return customer_state(bucket, r.t) if data.chart == Chart.STATES else bucket
    if step == Step.MONTH:
        return digits(f"{bucket:%Y-%m}", r)
    return digits(f"{bucket:%m-%d}", r)


def period_text(period: Period, r: Reader) -> str:
    first, last = (r.t.isolate(digits(d.isoformat(), r)) for d in (period.first, period.last))
    if period.first == period.last:
        return first
    return r.t._("{first} to {last}", first=first, last=last)


def _back(whose: Whose, t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("⬅️ Charts"), buttons.MENU.build(whose))]


def _menu_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("⬅️ Menu"), keyboards.MENU)]


def _chart_button(chart: Chart, whose: Whose, t: Translator) -> list[InlineKeyboardButton]:
    if chart in PERIODIC:
        return [keyboards.button(chart_title(chart, t), buttons.PICK.build(chart, whose))]
    drawing = Drawing(chart, Window.NEXT_30, Step.DAY, whose)
    return [keyboards.button(chart_title(chart, t), buttons.PICTURE.build(drawing))]


def menu(
    charts: Sequence[Chart], whose: Whose, name: str | None, parent: bool, r: Reader
) -> Screen:
    """Which chart; a parent may count its sub-resellers in or leave them out."""
    t = r.t
    rows = [_chart_button(chart, whose, t) for chart in charts]
    if parent:
        flipped = Whose(whose.reseller, not whose.subtree)
        label = (t._("🌳 With my sub-resellers: on") if whose.subtree
                 else t._("🌳 With my sub-resellers: off"))  # fmt: skip
        rows.append([keyboards.button(label, buttons.MENU.build(flipped))])
    text = t._("📊 <b>Charts</b>\nWhich chart would you like to see?")
    if name is not None:
        text = t._("📊 <b>Charts: {name}</b>\nWhich chart would you like to see?",
                   name=r.name(name))  # fmt: skip
    return text, InlineKeyboardMarkup([*rows, _menu_row(t)])


def period_prompt(chart: Chart, whose: Whose, r: Reader) -> Screen:
    t = r.t
    text = t._("📊 <b>{what}</b>\nWhich period?", what=chart_title(chart, t))
    windows = [Window.DAYS_7, Window.DAYS_30, Window.THIS_MONTH, Window.LAST_MONTH,
               Window.DAYS_90, Window.MONTHS_12]  # fmt: skip

    def pick(which: Window) -> InlineKeyboardButton:
        drawing = Drawing(chart, which, default_step(which), whose)
        return keyboards.button(window_name(which, t), buttons.PICTURE.build(drawing))

    rows = [[pick(a), pick(b)] for a, b in zip(windows[::2], windows[1::2], strict=True)]
    return text, InlineKeyboardMarkup([*rows, _back(whose, t)])


def photo_buttons(drawing: Drawing, r: Reader) -> InlineKeyboardMarkup:
    """Under a picture: the same as a table; the other steps; back to the charts."""
    t = r.t
    rows = [[keyboards.button(t._("📋 As a table"), buttons.TABLE.build(drawing))]]
    if drawing.chart in OVER_TIME:
        rows.append(
            [
                keyboards.button(step_name(step, t), buttons.PICTURE.build(
                    Drawing(drawing.chart, drawing.window, step, drawing.whose)))
                for step in Step
                if step != drawing.step
            ]
        )  # fmt: skip
    rows.append(_back(drawing.whose, t))
    return InlineKeyboardMarkup(rows)


# --- the caption: the key figures -----------------------------------------------------------


def amount(value: int, key: str, data: ChartData, r: Reader, bucket: int | None = None) -> str:
    """A series' value as it reads: a count, or an amount in credits (income: in what was
    paid)."""
    if key in ("activations", "renewals", "orders", "customers"):
        return r.number(value)
    if data.chart == Chart.INCOME and bucket is not None:
        return r.t.amount(value, escape(data.currencies[bucket]))
    return r.money(value)


def change(now: int, before: int, r: Reader) -> str:
    """``+50%`` / ``-25%`` / ``0%`` in the reader's digits; empty when there was nothing."""
    if before == 0:
        return ""
    percent = round((now - before) * 100 / before)
    sign = "+" if percent > 0 else ("-" if percent < 0 else "")
    return r.t.isolate(f"{sign}{r.number(abs(percent))}%")


def _line(key: str, now: int, before: int | None, data: ChartData, r: Reader) -> str:
    t = r.t
    name, value = series_name(key, t), amount(now, key, data, r)
    if before is None:
        return t._("{name}: {value}", name=name, value=value)
    earlier = amount(before, key, data, r)
    moved = change(now, before, r)
    if not moved:
        return t._("{name}: {value} (period before: {before})", name=name, value=value,
                   before=earlier)  # fmt: skip
    return t._("{name}: {value} (period before: {before}, {change})", name=name, value=value,
               before=earlier, change=moved)  # fmt: skip


def heading(data: ChartData, r: Reader) -> str:
    title = chart_title(data.chart, r.t)
    if data.chart == Chart.STATES:
        return f"📊 <b>{title}</b>"
    return r.t._("📊 <b>{what}</b>, {period}", what=title, period=period_text(data.period, r))


def table_heading(data: ChartData, r: Reader) -> str:
    what = chart_title(data.chart, r.t)
    return r.t._("📋 {what}, {period}", what=what, period=period_text(data.period, r))


def bare_amount(hundredths: int, r: Reader) -> str:
    """An amount with two decimals in the reader's digits, without currency or direction
    marks: for a table's column and a chart's axis, whose heading names the currency."""
    return re.sub("[\u2066-\u2069]", "", r.t.amount(hundredths, "")).strip()


def _levels(data: ChartData, r: Reader) -> list[str]:
    values = data.series[0].values
    return [
        r.t._("At the end: {value}", value=r.money(values[-1] if values else 0)),
        r.t._("At the start: {value}", value=r.money(data.opening or 0)),
    ]


def _ranking(data: ChartData, r: Reader) -> list[str]:
    t = r.t
    amounts, orders = data.find("amount"), data.find("orders")
    count = t.n_("{n} sale", "{n} sales", orders.total)
    first_three = [
        t._("{name}: {value}", name=r.name(str(name)), value=r.money(total))
        for name, total in zip(data.buckets[:3], amounts.values, strict=False)
    ]
    together = t._("Together: {value}, {count}", value=r.money(amounts.total), count=count)
    return [together, *first_three]


def _income(data: ChartData, r: Reader) -> list[str]:
    paid = data.find("amount").values
    return [
        r.t._("{name}: {value}", name=r.name(str(name)), value=amount(value, "amount", data, r, n))
        for n, (name, value) in enumerate(zip(data.buckets, paid, strict=True))
    ]


def _expiries(data: ChartData, r: Reader) -> list[str]:
    counts = data.series[0].values
    return [
        r.t._("Next 30 days: {value}", value=r.number(sum(counts))),
        r.t._("Next 7 days: {value}", value=r.number(sum(counts[:7]))),
    ]


def _states(data: ChartData, r: Reader) -> list[str]:
    t, found = r.t, data.series[0]
    each = [
        t._("{name}: {value}", name=customer_state(str(state), t), value=r.number(n))
        for state, n in zip(data.buckets, found.values, strict=True)
        if n
    ]
    return [t._("Customers: {value}", value=r.number(found.total)), *each]


def _sums(data: ChartData, r: Reader) -> list[str]:
    before: Sequence[int | None] = data.previous or [None] * len(data.series)
    return [_line(s.key, s.total, b, data, r) for s, b in zip(data.series, before, strict=True)]


_FIGURES: dict[Chart, Callable[[ChartData, Reader], list[str]]] = {
    Chart.DEBT: _levels,
    Chart.BALANCE: _levels,
    Chart.TOP: _ranking,
    Chart.INCOME: _income,
    Chart.EXPIRIES: _expiries,
    Chart.STATES: _states,
}


def figures(data: ChartData, r: Reader) -> list[str]:
    """The key figures, one line each: the caption's body and the picture's notes (the
    totals against the period before, or what the chart is about)."""
    return _FIGURES.get(data.chart, _sums)(data, r)


def caption(data: ChartData, r: Reader) -> str:
    """The picture's caption, within Telegram's 1024 characters (a long income list is
    cut; the table has it whole)."""
    lines = figures(data, r) or [nothing(r.t)]
    return truncate("\n".join([heading(data, r), *lines]), CAPTION)


def nothing(t: Translator) -> str:
    return t._("Nothing in this period.")


def refusal(exc: ChartError, t: Translator) -> str:
    if exc.code == "no_reseller":
        return t._("That reseller is not registered.")
    return t._("You may not see that chart.")


def stale(t: Translator) -> str:
    return t._("That button is no longer valid.")


def already_sent(t: Translator) -> str:
    return t._("That was already sent above; choose the chart again for a new one.")


def failed(t: Translator) -> str:
    return t._("⚠️ The chart could not be drawn. Please try again later.")
