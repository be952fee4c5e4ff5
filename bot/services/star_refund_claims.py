"""Who may ask Telegram to refund a Stars payment now: one caller at a time.

A refund is decided in a transaction (the payment becomes ``refund_pending``), then
Telegram is asked outside any transaction. The decision also takes a short lease
(``refund_claimed_until``); anyone else who would ask Telegram about the same payment
(an admin tapping ↩️ Refund again, the job that finishes refunds the bot stopped in the
middle of) must take the lease first, by a conditional update, and leaves the payment to
its holder while it runs. Telegram refunds a charge once whoever asks, and the outcome
is recorded by state-checked updates, but two callers answered differently (one
refunded, the other refused and the credits restored) would still disagree.

A lease can run out while its holder still waits for Telegram (a flood pause, a slow
answer) and another caller take it over. So the end of a lease is also its holder's
proof: a later holder's always ends later (it is taken at or after the first one ends,
and lasts ``LEASE``), and whatever a holder records that is not plainly true whoever
asked (the credits given back, the lease given back, the admins told of a failure) is
recorded only while the payment still carries the end of its own lease (``held``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services.ledger import rowcount
from bot.services.stars import Payment, require
from models import StarPayment, StarState

# Far longer than one refundStarPayment call (its timeouts are seconds).
LEASE = dt.timedelta(minutes=2)
# The recovery job asks Telegram again, after a refusal, once the refund has been pending
# as long again (so about twice after each doubling of its age), within these bounds: a
# refund Telegram will never make is asked about some 130 times in the job's 30 days,
# not 43,000, each one logged.
RETRY_SOONEST = dt.timedelta(minutes=1)
RETRY_LATEST = dt.timedelta(hours=6)


def begun(now: dt.datetime) -> dict[str, dt.datetime | None]:
    """The columns a refund's decision sets: begun now, held by its caller."""
    return {"refund_begun_at": now, "refund_claimed_until": now + LEASE, "refund_retry_at": None}


async def retry_later(db: Database, payment: Payment, now: dt.datetime) -> dt.datetime:
    """Telegram did not refund for the recovery job: the job asks again only from the time
    returned (an admin's ↩️ Refund and the live path are not kept waiting)."""
    since = payment.refund_begun_at or now
    wait = min(max(now - since, RETRY_SOONEST), RETRY_LATEST)
    async with db.transaction() as session:
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment.id, StarPayment.state == StarState.REFUND_PENDING)
            .values(refund_retry_at=now + wait)
        )
    return now + wait


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


def held(payment_id: int, until: dt.datetime | None) -> ColumnElement[bool]:
    """The payment is a pending refund still under the lease that ends ``until`` (its
    holder's): nobody took it over since."""
    if until is None:  # a lease always has an end: holding none, one holds nothing
        return StarPayment.id.is_(None)
    return and_(
        StarPayment.id == payment_id,
        StarPayment.state == StarState.REFUND_PENDING,
        StarPayment.refund_claimed_until == until,
    )


async def release(db: Database, payment: Payment) -> None:
    """Give the lease back (Telegram's answer is in, the refund still pending): the next
    caller need not wait for it to run out. Only the holder's own lease: one taken over
    meanwhile stays with its new holder."""
    async with db.transaction() as session:
        await session.execute(
            update(StarPayment)
            .where(held(payment.id, payment.refund_claimed_until))
            .values(refund_claimed_until=None)
        )


async def stuck(
    db: Database, *, now: dt.datetime, begun_before: dt.datetime, begun_since: dt.datetime
) -> list[int]:
    """Refunds still pending, begun in [``begun_since``, ``begun_before``) (older than a
    grace: none still in its caller's hands), held by no one and not waiting to be asked
    again (``retry_later``): the bot stopped between deciding them and recording
    Telegram's answer, or Telegram did not refund. Oldest first."""
    since = func.coalesce(StarPayment.refund_begun_at, StarPayment.paid_at)
    async with db.transaction() as session:
        found = await session.scalars(
            select(StarPayment.id)
            .where(
                StarPayment.state == StarState.REFUND_PENDING,
                since < begun_before,
                since >= begun_since,
                _free(now),
                or_(StarPayment.refund_retry_at.is_(None), StarPayment.refund_retry_at <= now),
            )
            .order_by(since, StarPayment.id)
        )
        return list(found)
