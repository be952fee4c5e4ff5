"""The figures behind each chart: which charts there are, who may see which, the periods
and steps they cover, and the series themselves (plain integers; no words, no pictures).

Who may see what: the owners and staff admins with the ``reports`` permission (and the
operator's shell) every chart about everyone or about the reseller they name; a reseller
its own sales, customers, expiries and balance, with its subtree's if it asks and a
sub-reseller's if it names one, never anyone else's and never the admin charts
(``scope``, the same rule as the exports).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.db import Database
from bot.services import chart_levels, chart_queries, exports
from bot.services.admin_log import ActionError
from bot.services.chart_queries import Audience
from bot.services.downline import subtree_ids
from bot.services.exports import ExportError, Kind
from bot.services.statements import Period

__all__ = ["Audience", "Chart", "ChartData", "ChartError", "Series", "Step", "Window", "build"]


class ChartError(ActionError):
    """A chart was refused; ``code``: ``not_allowed`` or ``no_reseller``."""


class Chart(StrEnum):
    SALES = "s"  # activations, renewals and their amount per step
    CREDITS = "c"  # credits issued, spent and expired per step
    TOP = "t"  # the resellers who sold most
    INCOME = "i"  # approved payments per payment method
    DEBT = "d"  # what postpaid resellers owe, at the end of each step
    STATES = "k"  # customers by state, now
    EXPIRIES = "e"  # active customers expiring on each of the next 30 days
    BALANCE = "b"  # one reseller's balance at the end of each step


class Window(StrEnum):
    """The period a chart covers, counted back from today."""

    DAYS_7 = "7"
    DAYS_30 = "30"
    THIS_MONTH = "tm"
    LAST_MONTH = "lm"
    DAYS_90 = "90"
    MONTHS_12 = "12m"
    NEXT_30 = "n30"  # the charts of what is (states) and what comes (expiries)


Step = chart_queries.Step
ADMIN_ONLY = frozenset({Chart.CREDITS, Chart.TOP, Chart.INCOME, Chart.DEBT})
RESELLER_CHARTS = (Chart.SALES, Chart.STATES, Chart.EXPIRIES, Chart.BALANCE)
ADMIN_CHARTS = (Chart.SALES, Chart.CREDITS, Chart.TOP, Chart.INCOME, Chart.DEBT,
                Chart.STATES, Chart.EXPIRIES)  # fmt: skip
OVER_TIME = frozenset({Chart.SALES, Chart.CREDITS, Chart.DEBT, Chart.BALANCE})  # a step
PERIODIC = OVER_TIME | {Chart.TOP, Chart.INCOME}  # asks for a period
LEVELS = frozenset({Chart.DEBT, Chart.BALANCE})  # a value at each moment, not a sum
EXPIRY_DAYS = 30
TOP_RESELLERS = 10


@dataclass(frozen=True)
class Series:
    key: str  # what it counts: "activations", "amount", ...
    values: tuple[int, ...]  # one per bucket; amounts in hundredths

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class ChartData:
    chart: Chart
    period: Period  # the days covered (the next 30 for expiries, today for states)
    step: Step | None  # over-time charts: the width of each bucket
    buckets: tuple[dt.date | str, ...]  # the first day of each step, or a name
    series: tuple[Series, ...]
    previous: tuple[int, ...] | None = None  # each series' total over the period before
    opening: int | None = None  # levels: the value just before the period
    currencies: tuple[str, ...] = ()  # income: the currency of each bucket

    def find(self, key: str) -> Series:
        return next(s for s in self.series if s.key == key)


def _refused() -> ChartError:
    return ChartError("not_allowed", "you may not see that chart")


async def scope(
    db: Database,
    chart: Chart,
    *,
    asker: int | None,
    owner_ids: Collection[int],
    reseller: int | None = None,
    subtree: bool = True,
) -> Audience:
    """Whose figures ``asker`` (a Telegram id; None: the operator's shell) may see in
    ``chart``: about ``reseller`` (a Telegram id) or everyone they may see, with the
    subtree below it or not; refused otherwise."""
    try:
        found = await exports.scope(
            db, Kind.HISTORY, asker=asker, owner_ids=owner_ids, reseller=reseller
        )
    except ExportError as exc:
        raise ChartError(exc.code, str(exc), **exc.params) from None
    if chart in ADMIN_ONLY and not found.admin:
        raise _refused()
    target = found.reseller
    if target is None:
        if chart == Chart.BALANCE:
            raise ChartError("no_reseller", "the balance chart is about one reseller")
        return Audience(None, True, None)
    if not subtree:
        return Audience(frozenset({target.id}), found.admin, target)
    ids = found.reseller_ids
    if found.admin:  # an export names the reseller alone; a chart counts as it would see
        async with db.transaction() as session:
            ids = frozenset({target.id, *await subtree_ids(session, target.id)})
    return Audience(ids, found.admin, target)


def window(which: Window, now: dt.datetime, zone: ZoneInfo) -> Period:
    """The days ``which`` covers, up to today (from today, for what comes)."""
    today = now.astimezone(zone).date()
    first_of_month = today.replace(day=1)
    match which:
        case Window.DAYS_7 | Window.DAYS_30 | Window.DAYS_90:
            return Period(today - dt.timedelta(days=int(which.value) - 1), today)
        case Window.THIS_MONTH:
            return Period(first_of_month, today)
        case Window.LAST_MONTH:
            last = first_of_month - dt.timedelta(days=1)
            return Period(last.replace(day=1), last)
        case Window.MONTHS_12:
            return Period(_months_back(first_of_month, 11), today)
        case Window.NEXT_30:
            return Period(today, today + dt.timedelta(days=EXPIRY_DAYS - 1))


def _months_back(first: dt.date, months: int) -> dt.date:
    index = first.year * 12 + first.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def before(which: Window, period: Period) -> Period:
    """The period just before, as long: the month before for the month windows (the
    whole of it for last month; as many of its days, at most, for this month so far)."""
    if which == Window.LAST_MONTH:
        return Period(_months_back(period.first, 1), period.first - dt.timedelta(days=1))
    if which == Window.THIS_MONTH:
        first = _months_back(period.first, 1)
        days = (period.last - period.first).days
        last_of_month = period.first - dt.timedelta(days=1)
        return Period(first, min(first + dt.timedelta(days=days), last_of_month))
    if which == Window.MONTHS_12:
        return Period(_months_back(period.first, 12), period.first - dt.timedelta(days=1))
    length = period.last - period.first + dt.timedelta(days=1)
    return Period(period.first - length, period.first - dt.timedelta(days=1))


def default_step(which: Window) -> Step:
    if which == Window.MONTHS_12:
        return Step.MONTH
    return Step.WEEK if which == Window.DAYS_90 else Step.DAY


async def build(
    db: Database,
    chart: Chart,
    where: Audience,
    which: Window,
    step: Step,
    now: dt.datetime,
    zone: ZoneInfo,
) -> ChartData:
    """The series of ``chart`` for ``where`` over ``which``, bucketed by ``step``."""
    if chart == Chart.STATES:
        today = now.astimezone(zone).date()
        names, counts = await chart_queries.states(db, where)
        return ChartData(chart, Period(today, today), None, names, (Series("customers", counts),))
    if chart == Chart.EXPIRIES:
        period = window(Window.NEXT_30, now, zone)
        days = chart_queries.buckets(period, Step.DAY)
        counts = await chart_queries.expiries(db, where, period, zone)
        return ChartData(chart, period, Step.DAY, days, (Series("customers", counts),))
    period = window(which, now, zone)
    earlier = before(which, period)
    if chart == Chart.TOP:
        names, amounts, orders = await chart_queries.top(db, where, period, zone, TOP_RESELLERS)
        ranked = (Series("amount", amounts), Series("orders", orders))
        return ChartData(chart, period, None, names, ranked)
    if chart == Chart.INCOME:
        names, currencies, amounts = await chart_queries.income(db, where, period, zone)
        return ChartData(chart, period, None, names, (Series("amount", amounts),),
                         currencies=currencies)  # fmt: skip
    days = chart_queries.buckets(period, step)
    if chart in LEVELS:
        account = where.reseller.account_id if chart == Chart.BALANCE and where.reseller else None
        opening, values = await chart_levels.levels(db, where, account, period, step, zone)
        key = "balance" if chart == Chart.BALANCE else "debt"
        return ChartData(chart, period, step, days, (Series(key, values),), opening=opening)
    sums = chart_queries.sales if chart == Chart.SALES else chart_queries.credits
    keys, now_values, then_totals = await sums(db, where, period, earlier, step, zone)
    series = tuple(Series(k, v) for k, v in zip(keys, now_values, strict=True))
    return ChartData(chart, period, step, days, series, previous=then_totals)
