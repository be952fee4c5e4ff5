"""Credits moved between a parent and its sub-reseller keep their expiry: an addition gives
the child one grant per expiry the parent's credits had, an expiry the parent chooses only
shortens them, a removal gives the parent back the child's credits as they expire, and the
expiry job removes them on time. Adding credits that expire and taking them back never
makes them last longer. The audit passes after every step."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import select

from bot.db import Database
from bot.services import alerts, allocation, downline, grants, ledger, resellers, wallet
from bot.services.allocation import Allocation
from bot.services.credits import Action
from models import CreditGrant, CreditTransfer, OutboxMessage, TxType
from tests.helpers import assert_audit_ok, key, make_reseller, now

PARENT, CHILD = 2101, 2102
T0 = now().replace(microsecond=0)
DAY1, DAY2, DAY5, DAY10, DAY20 = (T0 + dt.timedelta(days=d) for d in (1, 2, 5, 10, 20))

Grants = list[tuple[dt.datetime | None, int]]


async def _grant(
    db: Database, telegram_id: int, amount: int, expires_at: dt.datetime | None
) -> None:
    await wallet.add_credit(
        db,
        telegram_id=telegram_id,
        amount=amount,
        tx_type=TxType.PURCHASE,
        actor="test",
        key=key(),
        now=T0,
        expires_at=expires_at,
    )


async def _family(db: Database) -> None:
    """The parent has 30.00 expiring on day 2, 50.00 on day 10 and 100.00 that never do."""
    await make_reseller(db, PARENT, name="Papa")
    await downline.set_depth(db, telegram_id=PARENT, depth=1, actor="tg:1", now=T0)
    await downline.register_child(
        db,
        parent_telegram_id=PARENT,
        telegram_id=CHILD,
        name="Kid",
        username=None,
        low_balance_threshold=0,
        now=T0,
    )
    await _grant(db, PARENT, 3_000, DAY2)
    await _grant(db, PARENT, 5_000, DAY10)
    await _grant(db, PARENT, 10_000, None)


async def _save(
    db: Database, action: Action, amount: int, expires_at: dt.datetime | None = None
) -> Allocation:
    return await allocation.save(
        db,
        parent_telegram_id=PARENT,
        child_telegram_id=CHILD,
        action=action,
        amount=amount,
        tx_type=TxType.PURCHASE,
        nonce=key(),
        now=T0,
        expires_at=expires_at,
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


async def _given(db: Database, done: Allocation) -> Grants:
    """(expires_at, amount) of the grants one movement gave, in the order made."""
    async with db.transaction() as session:
        rows = await session.execute(
            select(CreditGrant.expires_at, CreditGrant.amount)
            .where(CreditGrant.transfer_id == done.transfer_id)
            .order_by(CreditGrant.id)
        )
        return [(e, a) for e, a in rows]


async def _expire(db: Database, at: dt.datetime) -> list[tuple[int, int]]:
    """Run the expiry job at ``at``: (account, amount) of what it removed."""
    return [(e.account_id, e.amount) for e in await alerts.expire_grants(db, at)]


async def _balance(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        return (await ledger.balance(session, await _account(db, telegram_id))).balance


async def test_an_addition_without_an_expiry_keeps_the_parents_and_expires_on_time(
    db: Database,
) -> None:
    await _family(db)
    done = await _save(db, Action.ADD, 10_000)
    # Soonest-expiring first: the day-2 and day-10 credits, then 20.00 that never expire.
    assert await _given(db, done) == [(DAY2, 3_000), (DAY10, 5_000), (None, 2_000)]
    assert await _open(db, PARENT) == [(None, 8_000)]
    async with db.transaction() as session:
        notice = await session.scalar(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "credit_allocated")
        )
    assert notice is not None
    payload = json.loads(notice)
    assert payload["expires_at"] is None
    assert payload["expiring"] == [[DAY2.isoformat(), 3_000], [DAY10.isoformat(), 5_000]]
    await assert_audit_ok(db)

    child = await _account(db, CHILD)
    assert await _expire(db, DAY2 - dt.timedelta(seconds=1)) == []
    assert await _expire(db, DAY2) == [(child, 3_000)]
    assert await _expire(db, DAY10) == [(child, 5_000)]
    assert await _balance(db, CHILD) == 2_000 and await _balance(db, PARENT) == 8_000
    await assert_audit_ok(db)


async def test_a_chosen_expiry_only_shortens_each_part(db: Database) -> None:
    await _family(db)
    done = await _save(db, Action.ADD, 10_000, DAY5)
    # Day 2 stays day 2; the day-10 part and the part that never expired end on day 5,
    # as one grant.
    assert await _given(db, done) == [(DAY2, 3_000), (DAY5, 7_000)]
    async with db.transaction() as session:
        row = await session.scalar(select(CreditTransfer))
        notice = await session.scalar(
            select(OutboxMessage.payload).where(OutboxMessage.kind == "credit_allocated")
        )
    assert row is not None and row.expires_at == DAY5  # what the parent chose, as before
    assert notice is not None
    assert json.loads(notice)["expiring"] == [[DAY2.isoformat(), 3_000], [DAY5.isoformat(), 7_000]]
    await assert_audit_ok(db)

    child = await _account(db, CHILD)
    assert await _expire(db, DAY2) == [(child, 3_000)]
    assert await _expire(db, DAY5 - dt.timedelta(seconds=1)) == []
    assert await _expire(db, DAY5) == [(child, 7_000)]
    assert await _balance(db, CHILD) == 0
    # The parent's day-10 credits it gave are gone with the child's on day 5: none is left
    # to expire on day 10.
    assert await _expire(db, DAY10) == []
    assert await _open(db, PARENT) == [(None, 8_000)]
    await assert_audit_ok(db)


async def test_an_expiry_sooner_than_every_part_applies_to_all(db: Database) -> None:
    await _family(db)
    done = await _save(db, Action.ADD, 4_000, DAY1)
    assert await _given(db, done) == [(DAY1, 4_000)]
    assert await _open(db, PARENT) == [(DAY10, 4_000), (None, 10_000)]
    await assert_audit_ok(db)


async def test_a_removal_gives_back_the_childs_credits_with_their_expiry(db: Database) -> None:
    await _family(db)
    await _save(db, Action.ADD, 10_000)
    back = await _save(db, Action.REMOVE, 10_000)
    # The loophole closed: what was added without an expiry comes back as it was.
    assert await _given(db, back) == [(DAY2, 3_000), (DAY10, 5_000), (None, 2_000)]
    assert await _open(db, CHILD) == []
    assert await _open(db, PARENT) == [(DAY2, 3_000), (DAY10, 5_000), (None, 8_000), (None, 2_000)]
    await assert_audit_ok(db)

    parent = await _account(db, PARENT)
    assert await _expire(db, DAY2) == [(parent, 3_000)]
    assert await _expire(db, DAY10) == [(parent, 5_000)]
    assert await _balance(db, PARENT) == 10_000
    await assert_audit_ok(db)


async def test_a_removal_takes_the_childs_soonest_expiring_credits_first(db: Database) -> None:
    await _family(db)
    await _save(db, Action.ADD, 6_000, DAY5)  # day 2: 30.00, day 5: 30.00
    await _grant(db, CHILD, 1_000, DAY1)  # the child's own, bought from an admin
    back = await _save(db, Action.REMOVE, 2_000)
    assert await _given(db, back) == [(DAY1, 1_000), (DAY2, 1_000)]
    assert await _open(db, CHILD) == [(DAY2, 2_000), (DAY5, 3_000)]
    parent = await _account(db, PARENT)
    assert await _expire(db, DAY1) == [(parent, 1_000)]
    await assert_audit_ok(db)


async def test_the_summary_says_which_part_expires_sooner(db: Database) -> None:
    await _family(db)

    async def sooner(amount: int, expires_at: dt.datetime | None) -> Grants:
        parts = await allocation.sooner(db, PARENT, CHILD, amount, expires_at)
        return [(p.expires_at, p.amount) for p in parts]

    assert await sooner(10_000, DAY5) == [(DAY2, 3_000)]
    assert await sooner(10_000, DAY20) == [(DAY2, 3_000), (DAY10, 5_000)]
    assert await sooner(10_000, None) == [(DAY2, 3_000), (DAY10, 5_000)]
    assert await sooner(2_000, DAY5) == [(DAY2, 2_000)]
    assert await sooner(10_000, DAY1) == []
    # Only a preview: nothing was taken.
    assert await _open(db, PARENT) == [(DAY2, 3_000), (DAY10, 5_000), (None, 10_000)]


def test_capping_merges_parts_that_end_the_same_day() -> None:
    parts = [grants.Part(DAY2, 1), grants.Part(DAY10, 2), grants.Part(None, 3)]
    assert grants.capped(parts, None) == parts
    assert grants.capped(parts, DAY5) == [grants.Part(DAY2, 1), grants.Part(DAY5, 5)]
    assert grants.capped(parts, DAY1) == [grants.Part(DAY1, 6)]
