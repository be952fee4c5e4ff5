"""``python -m bot chart CHART``: a chart's key figures and its numbers as a table, as the
chat's 📊 Charts shows them under the picture and on its "As a table" button (in the
source language, dates in the operator's zone)."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot import i18n
from bot.services import charts_data
from bot.services.charts_data import Chart, Step, Window

if TYPE_CHECKING:
    from bot.cli.commands import Call

NAMES = {
    "sales": Chart.SALES, "credits": Chart.CREDITS, "top": Chart.TOP, "income": Chart.INCOME,
    "debt": Chart.DEBT, "states": Chart.STATES, "expiries": Chart.EXPIRIES,
    "balance": Chart.BALANCE,
}  # fmt: skip
PERIODS = [w.value for w in Window if w != Window.NEXT_30]


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.cli.args import date, telegram_id

    chart = commands.add_parser("chart", help="a chart's key figures and numbers as a table")
    chart.add_argument("chart", choices=list(NAMES), metavar="CHART", help=", ".join(NAMES))
    chart.add_argument("--period", choices=PERIODS, default=Window.DAYS_30.value,
                       help="7, 30 (default), tm (this month), lm (last month), 90, "
                            "12m (the last 12 months)")  # fmt: skip
    chart.add_argument("--step", choices=[s.value for s in Step],
                       help="d (day), w (week) or m (month); by default as the chat "
                            "chooses")  # fmt: skip
    chart.add_argument("--reseller", type=telegram_id, help="only this reseller (Telegram id)")
    chart.add_argument("--without-subtree", action="store_true",
                       help="the reseller alone, not its sub-resellers")  # fmt: skip
    chart.add_argument("--today", type=date, help="count the period back from this day")


async def chart(call: Call) -> int:
    # The words are the chat's own (one place words them); imported here so that other
    # commands do not load the Telegram stack.
    from handlers.charts import picture_views, views
    from handlers.pages import plain
    from handlers.reader import Reader

    args = call.args
    which = NAMES[args.chart]
    window = Window(args.period)
    step = Step(args.step) if args.step else charts_data.default_step(window)
    now = call.now
    if args.today is not None:
        now = dt.datetime.combine(args.today, dt.time(12), call.settings.zone)
    where = await charts_data.scope(
        call.db, which, asker=None, owner_ids=(), reseller=args.reseller,
        subtree=not args.without_subtree,
    )  # fmt: skip
    data = await charts_data.build(call.db, which, where, window, step, now, call.settings.zone)
    r = Reader.of(call.settings, i18n.SOURCE)
    print(plain(views.caption(data, r)))
    print()
    print("\n".join(plain(text) for text in picture_views.table(data, r)))
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[Call], Awaitable[int]]] = {
    ("chart", None): chart,
}
