"""Postpaid resellers in the services: cash received (once per key, logged, the reseller
told, refused for a prepaid one), who owes and in what order, and statements whose figures
add up on a constructed history."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.services import cash, ledger, ledger_postings, statements
from bot.services.admin_log import ActionError
from bot.services.statements import Period, Preset, StatementError
from models import AdminAction, Billing, EntryKind, OutboxMessage, Transfer, TxType
from tests.helpers import assert_audit_ok, key, make_reseller

UTC = ZoneInfo("UTC")
NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


async def _postpaid(db: Database, telegram_id: int, name: str, limit: int) -> int:
    reseller = await make_reseller(
        db, telegram_id, name=name, billing=Billing.POSTPAID, credit_limit=limit
    )
    return reseller.account_id


async def _sell(db: Database, account_id: int, amount: int, at: dt.datetime | None = None) -> int:
    async with db.transaction() as session:
        moved = await ledger_postings.spend(
            session,
            account_id=account_id,
            amount=amount,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    if at is not None:
        await _dated(db, moved.transfer_id, at)
    return moved.transfer_id


async def _dated(db: Database, transfer_id: int, at: dt.datetime) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Transfer).where(Transfer.id == transfer_id).values(created_at=at)
        )


async def _cash(db: Database, telegram_id: int, amount: int, **extra: object) -> cash.CashReceipt:
    values: dict[str, object] = {"method": "cash", "actor": "tg:900", "key": key(), "now": NOW}
    values.update(extra)
    return await cash.record(db, telegram_id=telegram_id, amount=amount, **values)  # type: ignore[arg-type]


async def test_cash_received_reduces_what_is_owed_once_per_key_logged_and_told(
    db: Database,
) -> None:
    account = await _postpaid(db, 1001, "Paula", 10_000)
    await _sell(db, account, 8_000)
    first = await _cash(
        db, 1001, 5_000, key="k1", reference="R-7", comment="at the office", method="bank"
    )
    again = await _cash(
        db, 1001, 5_000, key="k1", reference="R-7", comment="at the office", method="bank"
    )
    assert (first.owed_before, first.owed_after, first.replayed) == (8_000, 3_000, False)
    assert (again.owed_after, again.replayed) == (3_000, True)
    assert first.balance.balance == -3_000
    async with db.transaction() as session:
        moved = list(
            await session.scalars(select(Transfer).where(Transfer.kind == EntryKind.CASH_RECEIVED))
        )
        logged = list(
            await session.scalars(select(AdminAction).where(AdminAction.action == "cash_received"))
        )
        told = list(await session.scalars(select(OutboxMessage)))
    assert [(t.amount, t.comment) for t in moved] == [(5_000, "at the office")]
    assert [(a.actor, a.action, a.reason) for a in logged] == [
        ("tg:900", "cash_received", "at the office")
    ]
    details = json.loads(logged[0].details or "{}")
    assert details["before"] == {"balance": -8_000, "owed": 8_000}
    assert details["after"]["owed"] == 3_000 and details["after"]["method"] == "bank"
    assert details["after"]["reference"] == "R-7"
    assert [(m.chat_id, m.kind) for m in told] == [(1001, "cash_received")]
    assert json.loads(told[0].payload) == {"amount": 5_000, "owed": 3_000, "balance": -3_000}
    assert await cash.recorded(db, "k1") and not await cash.recorded(db, "k2")
    await assert_audit_ok(db)


async def test_cash_is_refused_for_a_prepaid_reseller_and_for_bad_text(db: Database) -> None:
    await make_reseller(db, 1002, name="Pre", credit=1_000)
    await _postpaid(db, 1001, "Paula", 10_000)
    with pytest.raises(ActionError) as refused:
        await _cash(db, 1002, 500)
    assert refused.value.code == "not_postpaid"
    for extra, code in (
        ({"comment": "x" * 256}, "comment_too_long"),
        ({"reference": "r" * 65}, "reference_too_long"),
        ({"method": "m" * 33}, "method_too_long"),
        ({"method": "   "}, "no_method"),
    ):
        with pytest.raises(ActionError) as bad:
            await _cash(db, 1001, 500, **extra)
        assert bad.value.code == code
    assert (await _cash(db, 1001, 500, comment="c" * 255)).owed_after == 0
    async with db.transaction() as session:
        kinds = list(await session.scalars(select(Transfer.kind)))
    assert kinds.count(EntryKind.CASH_RECEIVED) == 1


async def test_debtors_are_the_postpaid_resellers_that_owe_the_most_first(db: Database) -> None:
    small = await _postpaid(db, 1001, "Small", 10_000)
    big = await _postpaid(db, 1002, "Big", 30_000)
    await _postpaid(db, 1003, "Clear", 10_000)  # owes nothing
    unlimited = await _postpaid(db, 1004, "Open", 0)
    await make_reseller(db, 1005, name="Prepaid", credit=1_000)
    await _sell(db, small, 2_500)
    await _sell(db, big, 20_000)
    await _cash(db, 1002, 1_000)  # it still owes 190.00
    async with db.transaction() as session:
        await session.execute(
            update(Transfer)
            .where(Transfer.kind == EntryKind.CASH_RECEIVED)
            .values(created_at=NOW - dt.timedelta(days=12, hours=3))
        )
    assert unlimited
    found = await cash.debtors(db, now=NOW)
    assert [(d.reseller.name, d.owed, d.limit, d.used_percent) for d in found] == [
        ("Big", 19_000, 30_000, 63),  # 63.3 %
        ("Small", 2_500, 10_000, 25),
    ]
    assert [d.days_since_payment for d in found] == [12, None]


async def test_a_statement_adds_up_on_a_constructed_history(db: Database) -> None:
    account = await _postpaid(db, 1001, "Paula", 100_000)
    day = dt.datetime(2026, 2, 1, 10, 0, tzinfo=dt.UTC)
    async with db.transaction() as session:
        grant = await ledger.grant(
            session,
            account_id=account,
            amount=10_000,
            kind=EntryKind.TOPUP,
            tx_type=TxType.PURCHASE,
            actor="t",
            key=key(),
            now=day - dt.timedelta(days=40),
        )
    await _dated(db, grant.transfer_id, day - dt.timedelta(days=20))  # January: opening
    await _sell(db, account, 3_000, at=day - dt.timedelta(days=10))  # January
    await _sell(db, account, 12_000, at=day)  # February 1st
    cash_in = await _cash(db, 1001, 4_000)
    async with db.transaction() as session:
        cash_id = await session.scalar(
            select(Transfer.id).where(Transfer.kind == EntryKind.CASH_RECEIVED)
        )
        refund = await ledger_postings.refund(
            session, account_id=account, amount=500, actor="t", key=key()
        )
        removed = await ledger.remove(
            session, account_id=account, amount=700, tx_type=TxType.ADJUSTMENT, actor="t", key=key()
        )
    assert cash_id is not None and cash_in.owed_after == 1_000
    await _dated(db, cash_id, day + dt.timedelta(days=5))
    await _dated(db, refund.transfer_id, day + dt.timedelta(days=6))
    await _dated(db, removed.transfer_id, dt.datetime(2026, 2, 28, 23, 59, tzinfo=dt.UTC))

    february = await statements.statement(
        db, 1001, Period(dt.date(2026, 2, 1), dt.date(2026, 2, 28)), UTC
    )
    assert (february.opening, february.closing) == (7_000, -1_200)
    assert (february.sales, february.cash, february.refunds, february.removed) == (
        12_000,
        4_000,
        500,
        700,
    )
    assert (february.added, february.expired, february.movements) == (0, 0, 4)
    assert february.adds_up and february.opening + february.net == february.closing

    quiet = await statements.statement(
        db, 1001, Period(dt.date(2026, 3, 1), dt.date(2026, 3, 10)), UTC
    )
    assert (quiet.opening, quiet.closing, quiet.movements, quiet.net) == (-1_200, -1_200, 0, 0)
    assert [batch async for batch in statements.lines(db, quiet, UTC)] == []

    lines = [line async for batch in statements.lines(db, february, UTC, page=2) for line in batch]
    assert [(line.kind, line.amount, line.balance) for line in lines] == [
        (EntryKind.ACTIVATION, -12_000, -5_000),
        (EntryKind.CASH_RECEIVED, 4_000, -1_000),
        (EntryKind.REFUND, 500, -500),
        (EntryKind.ADJUSTMENT, -700, -1_200),
    ]
    everything = await statements.statement(
        db, 1001, Period(dt.date(2026, 1, 1), dt.date(2026, 3, 15)), UTC
    )
    assert everything.opening == 0 and everything.adds_up
    async with db.transaction() as session:
        assert (await ledger.balance(session, account)).balance == everything.closing
    await assert_audit_ok(db)


def test_periods_ready_made_and_typed() -> None:
    zone = ZoneInfo("Asia/Tehran")
    assert statements.preset(Preset.THIS_MONTH, NOW, zone) == Period(
        dt.date(2026, 3, 1), dt.date(2026, 3, 15)
    )
    assert statements.preset(Preset.LAST_MONTH, NOW, zone) == Period(
        dt.date(2026, 2, 1), dt.date(2026, 2, 28)
    )
    assert statements.preset(Preset.LAST_30_DAYS, NOW, zone) == Period(
        dt.date(2026, 2, 14), dt.date(2026, 3, 15)
    )
    assert statements.parse_period("۲۰۲۶-۰۱-۰۱ ۲۰۲۶-۰۱-۳۱", NOW, zone) == Period(
        dt.date(2026, 1, 1), dt.date(2026, 1, 31)
    )
    start, end = Period(dt.date(2026, 1, 1), dt.date(2026, 1, 1)).bounds(zone)
    assert end - start == dt.timedelta(days=1) and start.hour == 20  # Tehran is UTC+3:30
    for text, code in (
        ("2026-01-01", "malformed"),
        ("yesterday today", "malformed"),
        ("2026-02-30 2026-03-01", "no_such_date"),
        ("2026-03-01 2026-02-01", "reversed"),
        ("2026-03-01 2026-03-16", "future"),
    ):
        with pytest.raises(StatementError) as refused:
            statements.parse_period(text, NOW, zone)
        assert refused.value.code == code, text
