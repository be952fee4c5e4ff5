"""Focused tests of the ledger service, on both databases."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.db import Database
from bot.services import alerts, ledger, ledger_holds, ledger_postings, wallet
from bot.services.ledger import IdempotencyConflict, InsufficientCredit, InvalidEntry
from bot.services.ledger_holds import HoldNotPending
from models import Billing, CreditGrant, EntryKind, LedgerAccount, Transfer, TxType
from tests.helpers import assert_audit_ok, key, make_reseller, now


async def _balance(db: Database, account_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        return await ledger.balance(session, account_id)


async def _spend(db: Database, account_id: int, amount: int, k: str | None = None):
    async with db.transaction() as session:
        return await ledger_postings.spend(
            session,
            account_id=account_id,
            amount=amount,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=k or key(),
        )


async def test_grant_and_spend_move_balance_and_keep_audit(db: Database) -> None:
    alice = await make_reseller(db, credit=10_000)
    await _spend(db, alice.account_id, 2_550)
    assert (await _balance(db, alice.account_id)).balance == 7_450
    await assert_audit_ok(db)


async def test_repeated_key_moves_once_and_returns_first_result(db: Database) -> None:
    alice = await make_reseller(db, credit=10_000)
    first = await _spend(db, alice.account_id, 1_000, "k1")
    again = await _spend(db, alice.account_id, 1_000, "k1")
    assert again.replayed and again.transfer_id == first.transfer_id
    assert (await _balance(db, alice.account_id)).balance == 9_000
    with pytest.raises(IdempotencyConflict):
        await _spend(db, alice.account_id, 999, "k1")
    await assert_audit_ok(db)


async def test_prepaid_cannot_go_below_zero(db: Database) -> None:
    alice = await make_reseller(db, credit=1_000)
    with pytest.raises(InsufficientCredit) as refused:
        await _spend(db, alice.account_id, 1_001)
    assert refused.value.available == 1_000 and refused.value.missing == 1
    assert (await _balance(db, alice.account_id)).balance == 1_000
    async with db.transaction() as session:
        assert (
            await session.scalar(select(Transfer.id).where(Transfer.kind == "activation")) is None
        )
    await assert_audit_ok(db)


async def test_postpaid_goes_down_to_its_collection_limit_and_cash_settles(db: Database) -> None:
    bob = await make_reseller(db, billing=Billing.POSTPAID, credit_limit=5_000)
    await _spend(db, bob.account_id, 5_000)
    with pytest.raises(InsufficientCredit):
        await _spend(db, bob.account_id, 1)
    change = await wallet.record_cash_received(
        db, telegram_id=bob.telegram_id, amount=3_000, actor="test", key=key()
    )
    assert change.balance.balance == -2_000
    summary = await wallet.balance_summary(db, bob.telegram_id, now=now())
    assert summary.owed == 2_000
    await assert_audit_ok(db)


async def test_database_refuses_a_balance_below_the_limit_whatever_the_code(db: Database) -> None:
    alice = await make_reseller(db, credit=100)
    with pytest.raises(IntegrityError):
        async with db.transaction() as session:
            await session.execute(
                update(LedgerAccount).where(LedgerAccount.id == alice.account_id).values(balance=-1)
            )


async def test_hold_post_and_void(db: Database) -> None:
    alice = await make_reseller(db, credit=10_000)
    async with db.transaction() as session:
        h1 = await ledger_holds.place_hold(
            session,
            account_id=alice.account_id,
            amount=4_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key="h1",
        )
        h2 = await ledger_holds.place_hold(
            session,
            account_id=alice.account_id,
            amount=5_000,
            kind=EntryKind.RENEWAL,
            actor="test",
            key="h2",
        )
    bal = await _balance(db, alice.account_id)
    assert (bal.balance, bal.held, bal.available) == (10_000, 9_000, 1_000)
    # Held credit cannot be spent twice.
    with pytest.raises(InsufficientCredit):
        await _spend(db, alice.account_id, 1_001)
    async with db.transaction() as session:
        posted = await ledger_holds.post_hold(session, h1.hold_id, now=now())
        assert await ledger_holds.void_hold(session, h2.hold_id, now=now())
    async with db.transaction() as session:
        again = await ledger_holds.post_hold(session, h1.hold_id, now=now())
        assert again.replayed and again.transfer_id == posted.transfer_id
        assert not await ledger_holds.void_hold(session, h2.hold_id, now=now())
    with pytest.raises(HoldNotPending):
        async with db.transaction() as session:
            await ledger_holds.post_hold(session, h2.hold_id, now=now())
    with pytest.raises(HoldNotPending):
        async with db.transaction() as session:
            await ledger_holds.void_hold(session, h1.hold_id, now=now())
    bal = await _balance(db, alice.account_id)
    assert (bal.balance, bal.held) == (6_000, 0)
    await assert_audit_ok(db)


async def test_repeated_hold_key_reserves_once(db: Database) -> None:
    alice = await make_reseller(db, credit=1_000)
    for _ in range(3):
        async with db.transaction() as session:
            await ledger_holds.place_hold(
                session,
                account_id=alice.account_id,
                amount=600,
                kind=EntryKind.ACTIVATION,
                actor="test",
                key="same",
            )
    assert (await _balance(db, alice.account_id)).held == 600


async def test_soonest_expiring_credits_are_spent_first_and_expiry_removes_the_rest(
    db: Database,
) -> None:
    alice = await make_reseller(db)
    t0 = now()
    for amount, days in ((1_000, None), (2_000, 20), (3_000, 10)):
        await wallet.add_credit(
            db,
            telegram_id=alice.telegram_id,
            amount=amount,
            tx_type=TxType.PURCHASE,
            actor="test",
            key=key(),
            now=t0,
            expires_at=t0 + dt.timedelta(days=days) if days else None,
        )
    await _spend(db, alice.account_id, 3_500)  # all of the 10-day grant, 500 of the 20-day
    async with db.transaction() as session:
        remaining = [
            r for r in await session.scalars(select(CreditGrant.remaining).order_by(CreditGrant.id))
        ]
    assert remaining == [1_000, 1_500, 0]

    summary = await wallet.balance_summary(db, alice.telegram_id, now=t0)
    assert [c.amount for c in summary.expiring] == [1_500]

    assert await alerts.expire_grants(db, t0 + dt.timedelta(days=15)) == []
    expired = await alerts.expire_grants(db, t0 + dt.timedelta(days=21))
    assert [e.amount for e in expired] == [1_500]
    # Running again removes nothing more.
    assert await alerts.expire_grants(db, t0 + dt.timedelta(days=22)) == []
    assert (await _balance(db, alice.account_id)).balance == 1_000
    await assert_audit_ok(db)


async def test_expiry_never_takes_credit_reserved_by_a_hold(db: Database) -> None:
    alice = await make_reseller(db)
    t0 = now()
    await wallet.add_credit(
        db,
        telegram_id=alice.telegram_id,
        amount=1_000,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=t0,
        expires_at=t0 + dt.timedelta(days=1),
    )
    async with db.transaction() as session:
        hold = await ledger_holds.place_hold(
            session,
            account_id=alice.account_id,
            amount=700,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key="h",
        )
    expired = await alerts.expire_grants(db, t0 + dt.timedelta(days=2))
    assert [e.amount for e in expired] == [300]
    async with db.transaction() as session:
        await ledger_holds.post_hold(session, hold.hold_id, now=now())
    assert (await _balance(db, alice.account_id)).balance == 0
    await assert_audit_ok(db)


async def test_transfer_between_resellers_and_refund(db: Database) -> None:
    alice = await make_reseller(db, 1, credit=5_000)
    bob = await make_reseller(db, 2, name="Bob")
    async with db.transaction() as session:
        await ledger_postings.transfer_between(
            session,
            from_account_id=alice.account_id,
            to_account_id=bob.account_id,
            amount=2_000,
            actor="test",
            key=key(),
        )
        await ledger_postings.spend(
            session,
            account_id=bob.account_id,
            amount=1_500,
            kind=EntryKind.RENEWAL,
            actor="test",
            key="sale",
        )
        await ledger_postings.refund(
            session,
            account_id=bob.account_id,
            amount=1_500,
            actor="test",
            key=key(),
            related="sale",
        )
    assert (await _balance(db, alice.account_id)).balance == 3_000
    assert (await _balance(db, bob.account_id)).balance == 2_000
    await assert_audit_ok(db)


@pytest.mark.parametrize(
    ("amount", "comment", "k"),
    [(0, None, "k"), (-5, None, "k"), (1, "x" * 256, "k"), (1, None, ""), (1, None, "k" * 129)],
)
async def test_malformed_entries_are_refused_and_write_nothing(
    db: Database, amount: int, comment: str | None, k: str
) -> None:
    alice = await make_reseller(db, credit=1_000)
    with pytest.raises(InvalidEntry):
        async with db.transaction() as session:
            await ledger_postings.spend(
                session,
                account_id=alice.account_id,
                amount=amount,
                kind=EntryKind.ACTIVATION,
                actor="test",
                key=k,
                comment=comment,
            )
    assert (await _balance(db, alice.account_id)).balance == 1_000


async def test_history_pages_newest_first_with_signs(db: Database) -> None:
    alice = await make_reseller(db, credit=10_000)
    for i in range(1, 13):
        await _spend(db, alice.account_id, i)
    page0 = await wallet.history_page(db, alice.telegram_id, page=0, page_size=5)
    assert (page0.total, page0.pages) == (13, 3)
    assert [e.amount for e in page0.entries] == [-12, -11, -10, -9, -8]
    last = await wallet.history_page(db, alice.telegram_id, page=99, page_size=5)
    assert last.page == 2 and [e.amount for e in last.entries] == [-2, -1, 10_000]


async def test_audit_finds_drift(db: Database) -> None:
    alice = await make_reseller(db, credit=1_000)
    async with db.transaction() as session:
        await session.execute(
            update(LedgerAccount).where(LedgerAccount.id == alice.account_id).values(balance=999)
        )
    report = await wallet.audit(db)
    assert not report.ok
    assert any("entries sum to 1000" in p for p in report.problems)
    assert any("sum to -1" in p for p in report.problems)
