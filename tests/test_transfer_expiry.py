"""Transferred credits keep their expiry: the receiver gets one grant per expiry the
sender's credits had, the expiry job removes them when the sender's would have gone,
passing credits to a friend and back saves nothing, and a reversal gives the sender its
credits back with the expiry they had (what the receiver no longer has of them is made
up from its own credit, which keeps its own expiry). The audit passes after every step."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.services import (
    alerts,
    ledger,
    ledger_holds,
    ledger_postings,
    resellers,
    transfer_admin,
    transfers,
    wallet,
)
from bot.services.transfer_rules import Sent, TransferError
from models import Billing, CreditGrant, CreditTransfer, EntryKind, OutboxMessage, TxType
from tests.helpers import assert_audit_ok, key, make_reseller, now

ALICE, BOB = 1001, 1002
UTC = ZoneInfo("UTC")
T0 = now().replace(microsecond=0)
DAY2, DAY10, DAY20 = (T0 + dt.timedelta(days=d) for d in (2, 10, 20))

Grants = list[tuple[dt.datetime | None, int]]


async def _grant(
    db: Database, telegram_id: int, amount: int, expires_at: dt.datetime | None
) -> wallet.WalletChange:
    return await wallet.add_credit(
        db,
        telegram_id=telegram_id,
        amount=amount,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=T0,
        expires_at=expires_at,
    )


async def _send(
    db: Database, amount: int, *, sender: int = ALICE, to: int = BOB, at: dt.datetime = T0
) -> Sent:
    return await transfers.send(
        db,
        sender_telegram_id=sender,
        recipient=to,
        amount=amount,
        note=None,
        key=key(),
        now=at,
        zone=UTC,
    )


async def _reverse(db: Database, sent: Sent, at: dt.datetime = T0) -> None:
    await transfer_admin.reverse(
        db,
        transfer_id=sent.transfer_id,
        telegram_id=sent.sender.telegram_id,
        reason="wrong reseller",
        actor="tg:900",
        actor_telegram_id=900,
        now=at,
    )


async def _account(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        return (await resellers.require_by_telegram_id(session, telegram_id)).account_id


async def _open(db: Database, telegram_id: int) -> Grants:
    """(expires_at, free) of a reseller's open grants with credit left, soonest first."""
    account = await _account(db, telegram_id)
    async with db.transaction() as session:
        rows = await session.execute(
            select(CreditGrant.expires_at, CreditGrant.remaining)
            .where(
                CreditGrant.account_id == account,
                CreditGrant.expired_at.is_(None),
                CreditGrant.remaining > 0,
            )
            .order_by(CreditGrant.expires_at.asc().nulls_last(), CreditGrant.id)
        )
        return [(e, r) for e, r in rows]


async def _of_transfer(db: Database, sent_or_row: int) -> Grants:
    """(expires_at, amount) of the grants a transfer (or reversal) row gave."""
    async with db.transaction() as session:
        movement = await session.scalar(
            select(CreditTransfer.ledger_transfer_id).where(CreditTransfer.id == sent_or_row)
        )
        rows = await session.execute(
            select(CreditGrant.expires_at, CreditGrant.amount)
            .where(CreditGrant.transfer_id == movement)
            .order_by(CreditGrant.id)
        )
        return [(e, a) for e, a in rows]


async def _balance(db: Database, telegram_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        return await ledger.balance(session, await _account(db, telegram_id))


async def _expire(db: Database, at: dt.datetime) -> list[tuple[int, int]]:
    """Run the expiry job at ``at``: (account, amount) of what it removed."""
    return [(e.account_id, e.amount) for e in await alerts.expire_grants(db, at)]


async def test_the_receiver_gets_the_expiries_of_the_credits_sent_and_they_expire_on_time(
    db: Database,
) -> None:
    await make_reseller(db, ALICE, name="Alice")
    await make_reseller(db, BOB, name="Bob")
    await _grant(db, ALICE, 3_000, DAY2)
    await _grant(db, ALICE, 5_000, DAY10)
    await _grant(db, ALICE, 10_000, None)

    sent = await _send(db, 10_000)
    # Soonest-expiring first: all of the day-2 and day-10 grants, then 20.00 that never expire.
    assert await _of_transfer(db, sent.transfer_id) == [
        (DAY2, 3_000),
        (DAY10, 5_000),
        (None, 2_000),
    ]
    assert await _open(db, BOB) == [(DAY2, 3_000), (DAY10, 5_000), (None, 2_000)]
    assert await _open(db, ALICE) == [(None, 8_000)]
    async with db.transaction() as session:
        notice = await session.scalar(select(OutboxMessage.payload))
    assert notice is not None
    assert json.loads(notice)["expiring"] == [[DAY2.isoformat(), 3_000], [DAY10.isoformat(), 5_000]]
    await assert_audit_ok(db)

    bob = await _account(db, BOB)
    assert await _expire(db, DAY2 - dt.timedelta(seconds=1)) == []
    assert await _expire(db, DAY2) == [(bob, 3_000)]
    assert (await _balance(db, BOB)).balance == 7_000
    await assert_audit_ok(db)
    assert await _expire(db, DAY10) == [(bob, 5_000)]
    assert (await _balance(db, BOB)).balance == 2_000
    assert (await _balance(db, ALICE)).balance == 8_000
    await assert_audit_ok(db)


async def test_credits_sent_to_a_friend_and_back_still_expire(db: Database) -> None:
    await make_reseller(db, ALICE, name="Alice")
    await make_reseller(db, BOB, name="Bob", credit=1_000)  # Bob's own, never expire
    await _grant(db, ALICE, 4_000, DAY2)

    await _send(db, 4_000)
    # Bob sends back as much: his soonest-expiring credits are the ones Alice sent.
    back = await _send(db, 4_000, sender=BOB, to=ALICE)
    assert await _of_transfer(db, back.transfer_id) == [(DAY2, 4_000)]
    assert await _open(db, ALICE) == [(DAY2, 4_000)]
    assert await _open(db, BOB) == [(None, 1_000)]

    alice = await _account(db, ALICE)
    assert await _expire(db, DAY2) == [(alice, 4_000)]
    assert (await _balance(db, ALICE)).balance == 0
    assert (await _balance(db, BOB)).balance == 1_000
    await assert_audit_ok(db)


async def test_credits_past_their_expiry_not_yet_removed_reach_the_receiver_already_due(
    db: Database,
) -> None:
    await make_reseller(db, ALICE, name="Alice", credit=1_000)
    await make_reseller(db, BOB, name="Bob")
    await _grant(db, ALICE, 500, DAY2)
    # The expiry job has not run since day 2 ended: the credits are still Alice's.
    late = DAY2 + dt.timedelta(minutes=5)
    await _send(db, 800, at=late)
    assert await _open(db, BOB) == [(DAY2, 500), (None, 300)]
    assert await _expire(db, late) == [(await _account(db, BOB), 500)]
    assert (await _balance(db, BOB)).balance == 300
    await assert_audit_ok(db)


async def test_what_a_pending_sale_holds_stays_with_the_sender(db: Database) -> None:
    alice = await make_reseller(db, ALICE, name="Alice")
    await make_reseller(db, BOB, name="Bob")
    await _grant(db, ALICE, 3_000, DAY2)
    await _grant(db, ALICE, 7_000, None)
    async with db.transaction() as session:
        hold = await ledger_holds.place_hold(
            session,
            account_id=alice.account_id,
            amount=2_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    # The hold reserves 20.00 of the day-2 grant: 10.00 of it is free to send.
    allowed = await transfers.allowance(db, ALICE, now=T0, zone=UTC)
    assert allowed.available == 8_000
    sent = await _send(db, 5_000)
    assert await _of_transfer(db, sent.transfer_id) == [(DAY2, 1_000), (None, 4_000)]
    assert await _open(db, ALICE) == [(None, 3_000)]
    await assert_audit_ok(db)
    with pytest.raises(TransferError) as refused:
        await _send(db, 3_001)
    assert (refused.value.code, refused.value.params["available"]) == ("insufficient", 3_000)
    async with db.transaction() as session:
        await ledger_holds.post_hold(session, hold.hold_id, now=T0)
    assert (await _balance(db, ALICE)).balance == 3_000
    assert await _expire(db, DAY2) == [(await _account(db, BOB), 1_000)]
    await assert_audit_ok(db)


async def test_a_postpaid_sender_sends_only_the_credit_above_zero_with_its_expiry(
    db: Database,
) -> None:
    alice = await make_reseller(
        db, ALICE, name="Alice", billing=Billing.POSTPAID, credit_limit=50_000
    )
    await make_reseller(db, BOB, name="Bob")
    async with db.transaction() as session:
        await ledger_postings.spend(
            session,
            account_id=alice.account_id,
            amount=4_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    # Of a 100.00 top-up expiring on day 10, 40.00 pays what Alice owed: 60.00 is hers.
    await _grant(db, ALICE, 10_000, DAY10)
    assert await _open(db, ALICE) == [(DAY10, 6_000)]
    allowed = await transfers.allowance(db, ALICE, now=T0, zone=UTC)
    assert allowed.available == 6_000
    sent = await _send(db, 6_000)
    assert await _of_transfer(db, sent.transfer_id) == [(DAY10, 6_000)]
    assert (await _balance(db, ALICE)).balance == 0
    # Her collection limit is hers to sell on, not to hand over, even by the ledger itself.
    bob = await _account(db, BOB)
    with pytest.raises(ledger.InsufficientCredit) as refused:
        async with db.transaction() as session:
            await ledger_postings.transfer_between(
                session,
                from_account_id=alice.account_id,
                to_account_id=bob,
                amount=100,
                actor="test",
                key=key(),
            )
    assert refused.value.available == 0
    await assert_audit_ok(db)


async def test_a_postpaid_receiver_who_owes_pays_the_debt_with_the_soonest_expiring(
    db: Database,
) -> None:
    await make_reseller(db, ALICE, name="Alice")
    bob = await make_reseller(db, BOB, name="Bob", billing=Billing.POSTPAID, credit_limit=50_000)
    async with db.transaction() as session:
        await ledger_postings.spend(
            session,
            account_id=bob.account_id,
            amount=4_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    await _grant(db, ALICE, 3_000, DAY2)
    await _grant(db, ALICE, 2_000, None)
    sent = await _send(db, 5_000)
    assert await _of_transfer(db, sent.transfer_id) == [(DAY2, 3_000), (None, 2_000)]
    # 40.00 of it pays what Bob owed, soonest-expiring first: 10.00 that never expire is left.
    assert await _open(db, BOB) == [(None, 1_000)]
    assert (await _balance(db, BOB)).balance == 1_000
    await assert_audit_ok(db)


async def test_a_reversal_gives_the_credits_back_with_the_expiry_they_had(db: Database) -> None:
    await make_reseller(db, ALICE, name="Alice")
    await make_reseller(db, BOB, name="Bob")
    await _grant(db, ALICE, 3_000, DAY2)
    await _grant(db, ALICE, 5_000, None)
    await _grant(db, BOB, 2_000, DAY10)  # Bob's own, expiring later than Alice's first
    sent = await _send(db, 4_000)

    await _reverse(db, sent)
    # Taken from the transfer's grants, not Bob's own soonest-expiring credits.
    assert await _open(db, ALICE) == [(DAY2, 3_000), (None, 4_000), (None, 1_000)]
    assert await _open(db, BOB) == [(DAY10, 2_000)]
    assert (await _balance(db, ALICE)).balance == 8_000
    await assert_audit_ok(db)
    assert await _expire(db, DAY2) == [(await _account(db, ALICE), 3_000)]
    await assert_audit_ok(db)


async def test_what_the_receiver_spent_or_lost_to_expiry_comes_back_with_its_own_expiry(
    db: Database,
) -> None:
    await make_reseller(db, ALICE, name="Alice")
    bob = await make_reseller(db, BOB, name="Bob")
    await _grant(db, ALICE, 3_000, DAY2)
    await _grant(db, ALICE, 7_000, DAY10)
    await _grant(db, BOB, 10_000, DAY20)
    sent = await _send(db, 5_000)
    assert await _of_transfer(db, sent.transfer_id) == [(DAY2, 3_000), (DAY10, 2_000)]
    # Bob sells for 10.00 (out of the day-2 credits), and the other 20.00 of them expire.
    async with db.transaction() as session:
        await ledger_postings.spend(
            session,
            account_id=bob.account_id,
            amount=1_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    after = DAY2 + dt.timedelta(hours=1)
    assert await _expire(db, after) == [(bob.account_id, 2_000)]
    assert await _open(db, BOB) == [(DAY10, 2_000), (DAY20, 10_000)]

    await _reverse(db, sent, at=after)
    # The day-10 credits come back as they were; the 30.00 Bob no longer has come out of
    # his own day-20 credits, which keep their day.
    rows = await transfer_admin.transfers_page(db, ALICE, page=0)
    reversal = rows.items[0].id
    assert await _of_transfer(db, reversal) == [(DAY10, 2_000), (DAY20, 3_000)]
    assert await _open(db, ALICE) == [(DAY10, 5_000), (DAY10, 2_000), (DAY20, 3_000)]
    assert await _open(db, BOB) == [(DAY20, 7_000)]
    await assert_audit_ok(db)


async def test_a_reversal_leaves_what_the_receivers_pending_sale_holds(db: Database) -> None:
    await make_reseller(db, ALICE, name="Alice")
    bob = await make_reseller(db, BOB, name="Bob")
    await _grant(db, ALICE, 3_000, DAY2)
    await _grant(db, BOB, 5_000, None)
    sent = await _send(db, 3_000)
    async with db.transaction() as session:
        await ledger_holds.place_hold(
            session,
            account_id=bob.account_id,
            amount=1_000,
            kind=EntryKind.ACTIVATION,
            actor="test",
            key=key(),
        )
    # The hold reserves 10.00 of the day-2 credits: 20.00 of them come back as they were.
    await _reverse(db, sent)
    assert await _open(db, ALICE) == [(DAY2, 2_000), (None, 1_000)]
    assert await _open(db, BOB) == [(None, 4_000)]
    assert (await _balance(db, BOB)).available == 4_000
    await assert_audit_ok(db)
