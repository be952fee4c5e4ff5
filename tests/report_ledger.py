"""A known ledger for the scheduled reports' tests, its movements stamped at set times.

Two resellers trade on DAY (2031-03-11, a Tuesday, UTC): Alice (prepaid) tops up, buys,
gets a refund and loses an expired grant; Bob (postpaid) sells on credit and pays some
cash. Alice also topped up the day before and in February; Carol never does anything.
The expected figures are written out by hand below, not computed by the code under test.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update

from bot.db import Database
from bot.services import ledger, ledger_expiry, ledger_postings, plans
from bot.services.resellers import ResellerView
from models import Billing, Customer, CustomerStatus, EntryKind, Transfer, TxType
from tests.helpers import key, make_reseller

DAY = dt.date(2031, 3, 11)
NOON = dt.datetime.combine(DAY, dt.time(12), dt.UTC)
MIDNIGHT = NOON - dt.timedelta(hours=12)  # what the grants are told "now" is


@dataclass(frozen=True)
class Known:
    alice: ResellerView
    bob: ResellerView
    carol: ResellerView


async def _stamp(db: Database, after_id: int, at: dt.datetime) -> int:
    """Date every transfer written after ``after_id`` at ``at``; the last id."""
    async with db.transaction() as session:
        await session.execute(update(Transfer).where(Transfer.id > after_id).values(created_at=at))
        return int(await session.scalar(select(func.coalesce(func.max(Transfer.id), 0))) or 0)


async def build(db: Database) -> Known:
    alice = await make_reseller(db, 1001, name="Alice")
    bob = await make_reseller(db, 1002, name="Bob", billing=Billing.POSTPAID, credit_limit=50_000)
    carol = await make_reseller(db, 1003, name="Carol")
    a, b = alice.account_id, bob.account_id

    async def grant(account: int, amount: int, kind: EntryKind, **extra: object) -> None:
        async with db.transaction() as session:
            await ledger.grant(
                session, account_id=account, amount=amount, kind=kind, tx_type=TxType.PURCHASE,
                actor="test", key=key(), now=MIDNIGHT, **extra,  # type: ignore[arg-type]
            )  # fmt: skip

    last = await _stamp(db, 0, NOON)  # nothing yet
    await grant(a, 1_000, EntryKind.TOPUP)
    last = await _stamp(db, last, dt.datetime(2031, 2, 20, 9, tzinfo=dt.UTC))
    await grant(a, 7_000, EntryKind.TOPUP)
    last = await _stamp(db, last, NOON - dt.timedelta(days=1))
    # 8.00 granted at 01:00 that expire at 02:00, before anything is spent.
    await grant(a, 800, EntryKind.TOPUP, expires_at=NOON - dt.timedelta(hours=10))
    last = await _stamp(db, last, NOON - dt.timedelta(hours=11))
    async with db.transaction() as session:
        for grant_id in await ledger_expiry.due_grant_ids(
            session, now=NOON - dt.timedelta(hours=9)
        ):
            await ledger_expiry.expire_grant(session, grant_id, now=NOON - dt.timedelta(hours=9))
    last = await _stamp(db, last, NOON - dt.timedelta(hours=9))
    await grant(a, 10_000, EntryKind.TOPUP)
    await grant(a, 2_000, EntryKind.ADJUSTMENT)
    async with db.transaction() as session:
        for account, amount, kind in (
            (a, 1_500, EntryKind.ACTIVATION), (a, 1_500, EntryKind.ACTIVATION),
            (a, 1_000, EntryKind.RENEWAL), (b, 3_000, EntryKind.ACTIVATION),
            (b, 2_000, EntryKind.RENEWAL),
        ):  # fmt: skip
            await ledger_postings.spend(
                session, account_id=account, amount=amount, kind=kind, actor="t", key=key()
            )
        await ledger_postings.refund(session, account_id=a, amount=500, actor="t", key=key())
        await ledger_postings.record_cash_received(
            session, account_id=b, amount=1_000, actor="t", key=key()
        )
    await _stamp(db, last, NOON)
    await _customers(db, alice)
    return Known(alice, bob, carol)


async def _customers(db: Database, alice: ResellerView) -> None:
    """Two new on DAY (one ends within a week of the day after), one older."""
    plan = await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=1_500)
    rows = (
        ("new1", NOON, NOON + dt.timedelta(days=5)),
        ("new2", NOON, NOON + dt.timedelta(days=30)),
        ("old1", NOON - dt.timedelta(days=40), NOON + dt.timedelta(days=3)),
    )
    async with db.transaction() as session:
        for username, created, expires in rows:
            session.add(
                Customer(
                    reseller_id=alice.id,
                    username=username,
                    plan_id=plan.id,
                    expires_at=expires,
                    status=CustomerStatus.ACTIVE,
                    created_at=created,
                )
            )


# What DAY adds up to (hundredths), worked out by hand from ``build``.
DAY_FIGURES = {
    "activations": 3, "activations_amount": 6_000,
    "renewals": 2, "renewals_amount": 3_000,
    "refunds_amount": 500,
    "topups": 2, "topups_amount": 10_800,
    "issued": 12_800, "spent": 8_500, "expired": 800,
    "new_customers": 2,
    "debtors": 1, "debt": 4_000,
}  # fmt: skip
# Alice's March: 10.00 opening (February); +7,000 +800 +10,000 +2,000 added; 4,000 sold;
# 500 refunded; 800 expired.
ALICE_MARCH = {"opening": 1_000, "added": 19_800, "sales": 4_000, "refunds": 500,
               "cash": 0, "expired": 800, "removed": 0, "closing": 16_500}  # fmt: skip
BOB_MARCH = {"opening": 0, "added": 0, "sales": 5_000, "refunds": 0, "cash": 1_000,
             "expired": 0, "removed": 0, "closing": -4_000}  # fmt: skip
