"""The series behind each chart, checked against a known ledger (tests/chart_ledger.py)
with exact numbers, on both databases: sales per day, week and month with the period
before; credits issued, spent and expired; top resellers; income per payment method;
postpaid debt and a balance over time, walked back from today; customers by state and
expiries ahead; a parent with and without its subtree; who may see what."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import (
    chart_queries,
    charts_data,
    ledger,
    roles,
    star_methods,
    star_payments,
    star_refunds,
    stars,
)
from bot.services.charts_data import Audience, Chart, ChartData, ChartError, Step, Window
from bot.services.roles import Permission
from bot.services.statements import Period
from models import EntryKind, Reseller, SystemAccount, Transfer, TxType
from models.base import UTCDateTime
from tests.chart_ledger import ALPHA, BRAVO, ECHO, NOW, day, world
from tests.conftest import ADMIN_ID
from tests.helpers import key

UTC = ZoneInfo("UTC")
OCTOBER = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31))


async def _chart(
    db: Database,
    chart: Chart,
    which: Window = Window.LAST_MONTH,
    step: Step = Step.DAY,
    *,
    asker: int = ADMIN_ID,
    reseller: int | None = None,
    subtree: bool = True,
) -> ChartData:
    where = await charts_data.scope(db, chart, asker=asker, owner_ids={ADMIN_ID},
                                    reseller=reseller, subtree=subtree)  # fmt: skip
    return await charts_data.build(db, chart, where, which, step, NOW, UTC)


def _on(data: ChartData, key: str) -> dict[dt.date | str, int]:
    """The series' nonzero values by bucket."""
    series = data.find(key)
    return {b: v for b, v in zip(data.buckets, series.values, strict=True) if v}


def _d(month: int, number: int) -> dt.date:
    return dt.date(2026, month, number)


async def test_last_months_sales_per_day_with_the_month_before(db: Database) -> None:
    await world(db)
    data = await _chart(db, Chart.SALES)
    assert data.period == OCTOBER and len(data.buckets) == 31
    assert _on(data, "activations") == {_d(10, 6): 1, _d(10, 10): 1, _d(10, 28): 1}
    assert _on(data, "renewals") == {_d(10, 6): 1}
    assert _on(data, "amount") == {_d(10, 6): 2_000, _d(10, 10): 1_000, _d(10, 28): 1_000}
    assert [s.total for s in data.series] == [3, 1, 4_000]
    assert data.previous == (1, 0, 1_000)  # September: a.one


async def test_sales_per_week_and_per_month(db: Database) -> None:
    await world(db)
    weekly = await _chart(db, Chart.SALES, Window.LAST_MONTH, Step.WEEK)
    # October 2026 starts on a Thursday: the first week is cut at the 1st.
    assert weekly.buckets == (_d(10, 1), _d(10, 5), _d(10, 12), _d(10, 19), _d(10, 26))
    assert weekly.find("amount").values == (0, 3_000, 0, 0, 1_000)
    monthly = await _chart(db, Chart.SALES, Window.MONTHS_12, Step.MONTH)
    assert monthly.period == Period(_d(12, 1).replace(year=2025), _d(11, 15))
    assert _on(monthly, "amount") == {_d(9, 1): 1_000, _d(10, 1): 4_000, _d(11, 1): 1_000}
    assert monthly.previous == (0, 0, 0)


async def test_a_parent_sees_its_subtree_or_itself_and_a_child_only_itself(db: Database) -> None:
    await world(db)
    tree = await _chart(db, Chart.SALES, asker=ALPHA)
    assert [s.total for s in tree.series] == [2, 1, 3_000]  # a.two, b.one; a.one renewed
    alone = await _chart(db, Chart.SALES, asker=ALPHA, subtree=False)
    assert [s.total for s in alone.series] == [1, 1, 2_000]
    child = await _chart(db, Chart.SALES, asker=ALPHA, reseller=BRAVO)
    assert [s.total for s in child.series] == [1, 0, 1_000]
    bravo = await _chart(db, Chart.SALES, asker=BRAVO)
    assert [s.total for s in bravo.series] == [1, 0, 1_000]
    for other in (ALPHA, ECHO):
        with pytest.raises(ChartError) as refused:
            await _chart(db, Chart.SALES, asker=BRAVO, reseller=other)
        assert refused.value.code == "not_allowed"
    for admin_only in (Chart.CREDITS, Chart.TOP, Chart.INCOME, Chart.DEBT):
        with pytest.raises(ChartError):
            await _chart(db, admin_only, asker=ALPHA)
    with pytest.raises(ChartError):
        await _chart(db, Chart.SALES, asker=4242)  # a stranger


async def test_an_admin_naming_a_parent_sees_its_subtree_or_it_alone(db: Database) -> None:
    """As the parent sees itself: the reseller's card and the shell name one reseller."""
    await world(db)
    tree = await _chart(db, Chart.SALES, reseller=ALPHA)
    assert [s.total for s in tree.series] == [2, 1, 3_000]  # a.two, b.one; a.one renewed
    alone = await _chart(db, Chart.SALES, reseller=ALPHA, subtree=False)
    assert [s.total for s in alone.series] == [1, 1, 2_000]


async def test_staff_see_the_admin_charts_only_with_the_reports_permission(db: Database) -> None:
    await world(db)
    for staff_id, allowed in ((5001, Permission.TOPUPS), (5002, Permission.REPORTS)):
        await roles.add_staff(db, telegram_id=staff_id, name="Sam", permissions=[allowed],
                              owner_ids={ADMIN_ID}, actor="test", now=NOW)  # fmt: skip
    for chart in (Chart.SALES, Chart.CREDITS):
        with pytest.raises(ChartError) as refused:
            await _chart(db, chart, asker=5001)
        assert refused.value.code == "not_allowed"
        with pytest.raises(ChartError):
            await _chart(db, chart, asker=5001, reseller=ALPHA)
    reports = await _chart(db, Chart.SALES, asker=5002)
    assert [s.total for s in reports.series] == [3, 1, 4_000]


async def test_credits_issued_spent_and_expired(db: Database) -> None:
    await world(db)
    data = await _chart(db, Chart.CREDITS)
    assert _on(data, "issued") == {_d(10, 5): 10_000, _d(10, 15): 2_000, _d(10, 16): 5_000,
                                   _d(10, 20): 5_000}  # fmt: skip
    assert _on(data, "spent") == {_d(10, 6): 2_000, _d(10, 10): 1_000, _d(10, 28): 1_000}
    assert _on(data, "expired") == {_d(10, 26): 5_000}
    assert data.previous == (20_000, 1_000, 0)


async def test_credits_spent_are_net_of_refunds_and_parents_margins(db: Database) -> None:
    """What the sales account kept, as the daily summary counts it: a refund comes back
    to the reseller, a parent's margin on its sub-reseller's sale to the parent."""
    await world(db)
    async with db.transaction() as session:
        sold = await ledger.system_account_id(session, SystemAccount.SALES)
        for who, amount, kind, when in (
            (ALPHA, 200, EntryKind.MARGIN, day(10, 10)),  # on Bravo's sale of b.one
            (ECHO, 500, EntryKind.REFUND, day(10, 28)),
        ):
            target = await _account(session, who)
            await ledger.move(session, src=sold, dst=target, amount=amount, kind=kind,
                              tx_type=TxType.ADJUSTMENT, actor="test", key=key())  # fmt: skip
            await session.execute(
                update(Transfer).where(Transfer.created_at > NOW).values(created_at=when)
            )
    everyone = await _chart(db, Chart.CREDITS)
    assert _on(everyone, "spent") == {_d(10, 6): 2_000, _d(10, 10): 800, _d(10, 28): 500}
    assert everyone.previous == (20_000, 1_000, 0)
    tree = await _chart(db, Chart.CREDITS, reseller=ALPHA)
    assert _on(tree, "spent") == {_d(10, 6): 2_000, _d(10, 10): 800}
    alpha = await _chart(db, Chart.CREDITS, reseller=ALPHA, subtree=False)
    assert _on(alpha, "spent") == {_d(10, 6): 2_000, _d(10, 10): -200}  # earned, not spent
    bravo = await _chart(db, Chart.CREDITS, reseller=BRAVO)
    assert _on(bravo, "spent") == {_d(10, 10): 1_000}  # the margin went to Alpha


async def _account(session: AsyncSession, telegram_id: int) -> int:
    reseller = await session.scalar(select(Reseller.id).where(Reseller.telegram_id == telegram_id))
    assert reseller is not None
    return await ledger.reseller_account_id(session, reseller)


async def test_top_resellers_and_income_per_payment_method(db: Database) -> None:
    await world(db)
    top = await _chart(db, Chart.TOP)
    assert top.buckets == ("Alpha", "Echo", "Bravo")  # equal amounts: the older first
    assert top.find("amount").values == (2_000, 1_000, 1_000)
    assert top.find("orders").values == (2, 1, 1)
    income = await _chart(db, Chart.INCOME)
    assert income.buckets == ("USDT TRC20", "Bank transfer")
    assert income.currencies == ("USD", "USD")
    assert income.find("amount").values == (5_000, 2_000)
    this_month = await _chart(db, Chart.INCOME, Window.THIS_MONTH)
    assert this_month.buckets == ()


async def test_income_leaves_out_a_stars_payment_refunded_to_its_payer(db: Database) -> None:
    await world(db)
    method = await star_methods.configure(db, code="stars", name="Telegram Stars", rate=200,
                                          now=day(10, 1))  # fmt: skip
    paid = []
    for n, credits in enumerate((5_000, 2_000)):
        invoice = await stars.create_invoice(
            db, telegram_id=ALPHA, method_id=method.id, credits=credits, min_credits=1_000,
            max_credits=10_000_000, now=day(10, 19),
        )  # fmt: skip
        paid.append(await star_payments.record_payment(
            db, charge_id=f"stxCHARGE{n}", provider_charge_id=None, payload=invoice.payload,
            telegram_id=ALPHA, total_amount=invoice.stars, currency="XTR", admin_chat_id=None,
            now=day(10, 20),
        ))  # fmt: skip
    refunded = paid[1].payment.id
    await star_refunds.begin_refund(db, payment_id=refunded, admin_id=ADMIN_ID, reason="asked",
                                    now=day(10, 21))  # fmt: skip
    await star_refunds.finish_refund(db, payment_id=refunded, admin_id=ADMIN_ID, now=day(10, 21))
    income = await _chart(db, Chart.INCOME)
    assert income.buckets == ("USDT TRC20", "Telegram Stars", "Bank transfer")
    assert income.currencies == ("USD", "XTR", "USD")
    assert income.find("amount").values == (5_000, 2_500, 2_000)  # 25 Stars kept, 10 given back


async def test_debt_over_time_is_walked_back_from_today(db: Database) -> None:
    await world(db)
    october = await _chart(db, Chart.DEBT)
    assert october.opening == 0
    assert october.series[0].values == (0,) * 27 + (1_000,) * 4  # from 10-28 on
    november = await _chart(db, Chart.DEBT, Window.THIS_MONTH)
    assert november.opening == 1_000
    assert november.series[0].values == (1_000, 1_000) + (0,) * 13  # paid on 11-03


async def test_a_balance_over_time(db: Database) -> None:
    await world(db)
    data = await _chart(db, Chart.BALANCE, asker=ALPHA)
    values = dict(zip(data.buckets, data.series[0].values, strict=True))
    assert data.opening == 19_000
    assert [values[_d(10, n)] for n in (1, 5, 6, 8, 15, 16, 31)] == [
        19_000, 29_000, 27_000, 25_000, 27_000, 32_000, 32_000,
    ]  # fmt: skip
    weekly = await _chart(db, Chart.BALANCE, Window.DAYS_30, Step.WEEK, asker=ALPHA)
    assert weekly.series[0].values[-1] == 31_000  # today, after a.three
    with pytest.raises(ChartError) as refused:
        await _chart(db, Chart.BALANCE)  # an admin names no reseller
    assert refused.value.code == "no_reseller"
    echo = await _chart(db, Chart.BALANCE, reseller=ECHO)
    assert echo.opening == 0 and echo.series[0].values[-1] == -1_000


async def test_customers_by_state_and_expiries_ahead(db: Database) -> None:
    await world(db)
    states = await _chart(db, Chart.STATES, Window.NEXT_30)
    assert states.buckets == ("active", "expired", "paused", "cancelled")
    assert states.series[0].values == (2, 3, 0, 0)
    alpha = await _chart(db, Chart.STATES, Window.NEXT_30, asker=ALPHA)
    assert alpha.series[0].values == (1, 3, 0, 0)
    alone = await _chart(db, Chart.STATES, Window.NEXT_30, asker=ALPHA, subtree=False)
    assert alone.series[0].values == (1, 2, 0, 0)
    ahead = await _chart(db, Chart.EXPIRIES, Window.NEXT_30)
    assert ahead.period == Period(_d(11, 15), _d(12, 14)) and len(ahead.buckets) == 30
    assert _on(ahead, "customers") == {_d(11, 27): 1, _d(12, 2): 1}
    mine = await _chart(db, Chart.EXPIRIES, Window.NEXT_30, asker=ECHO)
    assert _on(mine, "customers") == {_d(11, 27): 1}


def test_windows_and_the_periods_before_them() -> None:
    window, before = charts_data.window, charts_data.before
    cases = {
        Window.DAYS_7: (Period(_d(11, 9), _d(11, 15)), Period(_d(11, 2), _d(11, 8))),
        Window.THIS_MONTH: (Period(_d(11, 1), _d(11, 15)), Period(_d(10, 1), _d(10, 15))),
        Window.LAST_MONTH: (OCTOBER, Period(_d(9, 1), _d(9, 30))),
    }
    for which, (period, earlier) in cases.items():
        assert window(which, NOW, UTC) == period
        assert before(which, period) == earlier
    march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert before(Window.LAST_MONTH, march) == Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    # A whole month is compared with the whole month before, however long either is.
    february = Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert before(Window.LAST_MONTH, february) == Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31))
    april = Period(dt.date(2026, 4, 1), dt.date(2026, 4, 30))
    assert before(Window.LAST_MONTH, april) == Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    # This month so far is compared with as many days of the month before.
    so_far = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 30))
    assert before(Window.THIS_MONTH, so_far) == february
    # Tehran is past midnight when UTC is not: its today is a day later.
    late = dt.datetime(2026, 11, 15, 21, tzinfo=dt.UTC)
    assert window(Window.DAYS_7, late, ZoneInfo("Asia/Tehran")).last == _d(11, 16)


def test_an_audience_without_resellers_sees_everyone() -> None:
    assert Audience(None, True, None).reseller_ids is None


async def _bucket_of(db: Database, moment: dt.datetime, step: Step, zone: ZoneInfo) -> int:
    """The bucket of October the database puts ``moment`` in (31: after October)."""
    at = literal(moment, UTCDateTime)
    async with db.transaction() as session:
        found = await session.scalar(select(chart_queries.bucket_number(at, OCTOBER, step, zone)))
    assert found is not None
    return int(found)


async def test_a_moment_falls_in_the_bucket_of_its_local_day(db: Database) -> None:
    tehran, utc = ZoneInfo("Asia/Tehran"), dt.UTC  # UTC+3:30

    async def daily(moment: dt.datetime, zone: ZoneInfo = tehran) -> int:
        return await _bucket_of(db, moment, Step.DAY, zone)

    assert await daily(dt.datetime(2026, 9, 30, 21, tzinfo=utc)) == 0  # 00:30 on 10-01
    assert await daily(dt.datetime(2026, 10, 5, 20, 29, tzinfo=utc)) == 4  # 23:59 on 10-05
    assert await daily(dt.datetime(2026, 10, 5, 20, 30, tzinfo=utc)) == 5  # 10-06 there
    assert await daily(dt.datetime(2026, 10, 31, 20, 29, tzinfo=utc)) == 30
    assert await daily(dt.datetime(2026, 10, 31, 20, 30, tzinfo=utc)) == 31  # 11-01 there
    weekly = await _bucket_of(db, dt.datetime(2026, 10, 4, 12, tzinfo=utc), Step.WEEK, tehran)
    assert weekly == 0  # Sunday: the cut first week
    monday = await _bucket_of(db, dt.datetime(2026, 10, 4, 21, tzinfo=utc), Step.WEEK, tehran)
    assert monday == 1  # Monday 10-05 there
    # Berlin leaves summer time on 10-25: that day is 25 hours long.
    berlin = ZoneInfo("Europe/Berlin")
    assert await daily(dt.datetime(2026, 10, 24, 21, 59, tzinfo=utc), berlin) == 23
    assert await daily(dt.datetime(2026, 10, 24, 22, tzinfo=utc), berlin) == 24  # 10-25 00:00
    assert await daily(dt.datetime(2026, 10, 25, 22, 59, tzinfo=utc), berlin) == 24  # 23:59
    assert await daily(dt.datetime(2026, 10, 25, 23, tzinfo=utc), berlin) == 25  # 10-26 00:00
