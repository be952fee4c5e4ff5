"""Who may ask Telegram to refund a Stars payment now: one caller at a time.

A refund is decided in a transaction (the payment becomes ``refund_pending``), then
Telegram is asked outside any transaction. The decision also takes a short lease
(``refund_claimed_until``); anyone else who would ask Telegram about the same payment
(an admin tapping ↩️ Refund again, the job that finishes refunds the bot stopped in the
middle of) must take the lease first, by a conditional update, and leaves the payment to
its holder while it runs. Telegram refunds a charge once whoever asks, and the outcome
is recorded by state-checked updates, but two callers answered differently (one
refunded, the other refused and the credits restored) would still disagree.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services.ledger import rowcount
from bot.services.stars import Payment, require
from models import StarPayment, StarState

# Far longer than one refundStarPayment call (its timeouts are seconds).
LEASE = dt.timedelta(minutes=2)


def begun(now: dt.datetime) -> dict[str, dt.datetime]:
    """The columns a refund's decision sets: begun now, held by its caller."""
    return {"refund_begun_at": now, "refund_claimed_until": now + LEASE}


def _free(now: dt.datetime) -> ColumnElement[bool]:
    return or_(StarPayment.refund_claimed_until.is_(None), StarPayment.refund_claimed_until <= now)


async def claim(session: AsyncSession, payment_id: int, now: dt.datetime) -> bool:
    """Take the lease of a pending refund; False when another caller holds it (or the
    refund is no longer pending)."""
    taken = await session.execute(
        update(StarPayment)
        .where(
            StarPayment.id == payment_id,
            StarPayment.state == StarState.REFUND_PENDING,
            _free(now),
        )
        .values(refund_claimed_until=now + LEASE)
    )
    return rowcount(taken) == 1


async def take(db: Database, payment_id: int, now: dt.datetime) -> Payment | None:
    """``claim`` in a transaction of its own: the pending payment, or None (held)."""
    async with db.transaction() as session:
        if not await claim(session, payment_id, now):
            return None
        return await require(session, payment_id)


async def release(db: Database, payment_id: int) -> None:
    """Give the lease back (Telegram's answer is in, the refund still pending): the next
    caller need not wait for it to run out."""
    async with db.transaction() as session:
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment_id, StarPayment.state == StarState.REFUND_PENDING)
            .values(refund_claimed_until=None)
        )


async def stuck(
    db: Database, *, now: dt.datetime, begun_before: dt.datetime, begun_since: dt.datetime
) -> list[int]:
    """Refunds still pending, begun in [``begun_since``, ``begun_before``) (older than a
    grace: none still in its caller's hands) and held by no one: the bot stopped between
    deciding them and recording Telegram's answer, or Telegram did not refund. Oldest
    first."""
    since = func.coalesce(StarPayment.refund_begun_at, StarPayment.paid_at)
    async with db.transaction() as session:
        found = await session.scalars(
            select(StarPayment.id)
            .where(
                StarPayment.state == StarState.REFUND_PENDING,
                since < begun_before,
                since >= begun_since,
                _free(now),
            )
            .order_by(since, StarPayment.id)
        )
        return list(found)
