"""Grants and holds agree: expiring credits reserved by a hold expire on time, posting
spends exactly what the hold reserved, and the audit sees any disagreement."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from bot.db import Database
from bot.services import alerts, ledger, ledger_holds, ledger_postings, wallet
from models import Billing, CreditGrant, EntryKind, HoldAllocation, Transfer, TxType
from tests.helpers import assert_audit_ok, key, make_reseller, now


async def _grant(db: Database, telegram_id: int, amount: int, expires_at: dt.datetime | None):
    return await wallet.add_credit(
        db,
        telegram_id=telegram_id,
        amount=amount,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=now(),
        expires_at=expires_at,
    )


async def _hold(db: Database, account_id: int, amount: int) -> int:
    async with db.transaction() as session:
        placed = await ledger_holds.place_hold(
            session,
            account_id=account_id,
            amount=amount,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    return placed.hold_id


async def _balance(db: Database, account_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        return await ledger.balance(session, account_id)


async def _expired_total(db: Database) -> int:
    async with db.transaction() as session:
        amounts = await session.scalars(
            select(Transfer.amount).where(Transfer.kind == EntryKind.EXPIRY)
        )
        return sum(amounts)


async def test_credits_held_when_their_grant_expires_expire_when_the_hold_is_voided(
    db: Database,
) -> None:
    alice = await make_reseller(db)
    t0 = now()
    await _grant(db, alice.telegram_id, 10_000, t0 + dt.timedelta(days=1))
    hold_id = await _hold(db, alice.account_id, 10_000)

    assert await alerts.expire_grants(db, t0 + dt.timedelta(days=2)) == []  # all reserved
    async with db.transaction() as session:
        assert await ledger_holds.void_hold(session, hold_id, now=t0 + dt.timedelta(days=2))

    balance = await _balance(db, alice.account_id)
    assert (balance.balance, balance.held) == (0, 0)
    assert await _expired_total(db) == 10_000
    await assert_audit_ok(db)


async def test_a_posted_hold_spends_the_expiring_grant_it_reserved_and_keeps_the_other(
    db: Database,
) -> None:
    alice = await make_reseller(db)
    t0 = now()
    await _grant(db, alice.telegram_id, 10_000, t0 + dt.timedelta(days=1))
    await _grant(db, alice.telegram_id, 10_000, None)
    hold_id = await _hold(db, alice.account_id, 10_000)

    assert await alerts.expire_grants(db, t0 + dt.timedelta(days=2)) == []
    async with db.transaction() as session:
        await ledger_holds.post_hold(session, hold_id, now=t0 + dt.timedelta(days=2))

    assert (await _balance(db, alice.account_id)).balance == 10_000
    assert await _expired_total(db) == 0
    await assert_audit_ok(db)


async def test_a_hold_reserves_the_soonest_expiring_grant_first(db: Database) -> None:
    alice = await make_reseller(db)
    t0 = now()
    await _grant(db, alice.telegram_id, 5_000, None)
    late = await _grant(db, alice.telegram_id, 5_000, t0 + dt.timedelta(days=20))
    soon = await _grant(db, alice.telegram_id, 5_000, t0 + dt.timedelta(days=10))
    hold_id = await _hold(db, alice.account_id, 7_000)
    async with db.transaction() as session:
        reserved = dict(
            (
                await session.execute(
                    select(CreditGrant.transfer_id, HoldAllocation.amount)
                    .join(CreditGrant, CreditGrant.id == HoldAllocation.grant_id)
                    .where(HoldAllocation.hold_id == hold_id)
                )
            ).all()
        )
    assert reserved == {soon.movement.transfer_id: 5_000, late.movement.transfer_id: 2_000}
    await assert_audit_ok(db)


async def test_voiding_returns_the_reservation_so_a_later_expiry_takes_it(db: Database) -> None:
    alice = await make_reseller(db)
    t0 = now()
    await _grant(db, alice.telegram_id, 4_000, t0 + dt.timedelta(days=1))
    hold_id = await _hold(db, alice.account_id, 3_000)
    async with db.transaction() as session:
        await ledger_holds.void_hold(session, hold_id, now=t0)
    expired = await alerts.expire_grants(db, t0 + dt.timedelta(days=2))
    assert [e.amount for e in expired] == [4_000]
    assert (await _balance(db, alice.account_id)).balance == 0
    await assert_audit_ok(db)


async def test_credit_granted_to_a_postpaid_reseller_who_owes_first_covers_the_debt(
    db: Database,
) -> None:
    bob = await make_reseller(db, 2, name="Bob", billing=Billing.POSTPAID, credit_limit=50_000)
    async with db.transaction() as session:
        await ledger_postings.spend(
            session,
            account_id=bob.account_id,
            amount=3_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    t0 = now()
    await _grant(db, bob.telegram_id, 10_000, t0 + dt.timedelta(days=1))
    expired = await alerts.expire_grants(db, t0 + dt.timedelta(days=2))
    # Only the 7,000 above zero could expire: the debt stays paid.
    assert [e.amount for e in expired] == [7_000]
    assert (await _balance(db, bob.account_id)).balance == 0
    await assert_audit_ok(db)


async def test_a_postpaid_hold_beyond_the_grants_reserves_what_there_is(db: Database) -> None:
    bob = await make_reseller(db, 2, name="Bob", billing=Billing.POSTPAID, credit_limit=50_000)
    t0 = now()
    await _grant(db, bob.telegram_id, 2_000, t0 + dt.timedelta(days=1))
    first = await _hold(db, bob.account_id, 1_500)
    second = await _hold(db, bob.account_id, 1_500)  # 500 from the grant, 1,000 on credit
    async with db.transaction() as session:
        await ledger_holds.void_hold(session, first, now=t0)  # the second now reserves 1,500
    await assert_audit_ok(db)
    expired = await alerts.expire_grants(db, t0 + dt.timedelta(days=2))
    assert [e.amount for e in expired] == [500]
    async with db.transaction() as session:
        await ledger_holds.void_hold(session, second, now=t0 + dt.timedelta(days=2))
    assert (await _balance(db, bob.account_id)).balance == 0
    assert await _expired_total(db) == 2_000
    await assert_audit_ok(db)


async def test_audit_fails_when_a_grant_disagrees_with_the_balance(db: Database) -> None:
    alice = await make_reseller(db, credit=1_000)
    async with db.transaction() as session:
        await session.execute(
            update(CreditGrant)
            .where(CreditGrant.account_id == alice.account_id)
            .values(remaining=600)
        )
    report = await wallet.audit(db)
    assert not report.ok
    assert any("grants hold 600" in p and "backs 1000" in p for p in report.problems)


async def test_audit_fails_when_a_hold_reserves_less_of_the_grants_than_it_should(
    db: Database,
) -> None:
    alice = await make_reseller(db, credit=1_000)
    hold_id = await _hold(db, alice.account_id, 400)
    async with db.transaction() as session:
        await session.execute(
            update(HoldAllocation).where(HoldAllocation.hold_id == hold_id).values(amount=100)
        )
        await session.execute(
            update(CreditGrant)
            .where(CreditGrant.account_id == alice.account_id)
            .values(remaining=900)
        )
    report = await wallet.audit(db)
    assert any("reserve 100" in p and "not 400" in p for p in report.problems)
