"""A refund under way is asked of Telegram by one caller at a time: the lease its
decision takes, the lease others must take, and which pending refunds the recovery job
finds (older than the grace, within the window, held by no one)."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.db import Database
from bot.services import star_payments, star_refund_claims, star_refunds, star_renewal_outcome
from bot.services.stars import StarsError, require
from tests.helpers import assert_audit_ok, make_reseller, now
from tests.test_stars import ALICE, _balance, _invoice, _method, _pay

MINUTE = dt.timedelta(minutes=1)


async def _pending(db: Database, at: dt.datetime) -> int:
    await make_reseller(db, ALICE)
    paid = (await _pay(db, await _invoice(db, (await _method(db)).id))).payment
    await star_refunds.begin_refund(db, payment_id=paid.id, admin_id=900, reason="r", now=at)
    return paid.id


async def _stuck(db: Database, at: dt.datetime) -> list[int]:
    return await star_refund_claims.stuck(
        db, now=at, begun_before=at - 2 * MINUTE, begun_since=at - dt.timedelta(days=30)
    )


async def test_a_refund_decided_is_held_by_its_caller_until_the_lease_runs_out(
    db: Database,
) -> None:
    start = now()
    payment_id = await _pending(db, start)
    # An admin's refund again is not decided twice: only Telegram is asked again.
    with pytest.raises(StarsError) as decided:
        await star_refunds.begin_refund(
            db, payment_id=payment_id, admin_id=900, reason="r", now=start + MINUTE
        )
    assert decided.value.code == "refund_pending"
    with pytest.raises(StarsError) as also:
        await star_renewal_outcome.begin_refund(
            db, payment_id=payment_id, reason="r", now=start + MINUTE
        )
    assert also.value.code == "refund_running"
    assert await star_refund_claims.take(db, payment_id, start + MINUTE) is None
    # Once it has run out, one (only one) caller takes it.
    later = start + star_refund_claims.LEASE
    taken = await star_refund_claims.take(db, payment_id, later)
    assert taken is not None and taken.refund_claimed_until == later + star_refund_claims.LEASE
    assert await star_refund_claims.take(db, payment_id, later) is None
    # Given back, the next caller need not wait.
    await star_refund_claims.release(db, taken)
    again = await star_refund_claims.take(db, payment_id, later)
    assert again is not None and again.id == payment_id
    assert (await _balance(db)).balance == 0  # the credits taken once
    await assert_audit_ok(db)


async def test_the_job_finds_pending_refunds_past_the_grace_within_the_window_held_by_no_one(
    db: Database,
) -> None:
    start = now()
    payment_id = await _pending(db, start)
    assert await _stuck(db, start + MINUTE) == []  # its caller may still be asking
    assert await _stuck(db, start + 3 * MINUTE) == [payment_id]
    assert await star_refund_claims.take(db, payment_id, start + 3 * MINUTE) is not None
    assert await _stuck(db, start + 4 * MINUTE) == []  # held by a run
    assert await _stuck(db, start + 5 * MINUTE) == [payment_id]  # that run stopped
    assert await _stuck(db, start + dt.timedelta(days=31)) == []  # out of the window
    await star_refunds.finish_refund(db, payment_id=payment_id, admin_id=None, now=start)
    assert await _stuck(db, start + 5 * MINUTE) == []  # done


async def test_a_lease_taken_over_while_telegram_was_slow_leaves_its_first_holder_nothing(
    db: Database,
) -> None:
    """The admin's lease ran out while Telegram was slow to answer; the job took the refund
    over and is asking Telegram. The admin's refusal then restores no credits, gives back
    no lease, and the job's refund, when it comes, is recorded with the credits out once."""
    start = now()
    payment_id = await _pending(db, start)
    async with db.transaction() as session:
        admins = await require(session, payment_id)
    jobs = await star_refund_claims.take(db, payment_id, start + star_refund_claims.LEASE)
    assert jobs is not None
    with pytest.raises(StarsError) as taken_over:
        await star_refunds.undo_refund(db, pending=admins, error="refused", now=start + MINUTE)
    assert taken_over.value.code == "refund_running"
    await star_refund_claims.release(db, admins)  # not the admin's to give back any more
    assert await star_refund_claims.take(db, payment_id, start + 3 * MINUTE) is None
    failed = await star_renewal_outcome.refund_failed(
        db, pending=admins, error="refused", admin_chat_id=-100, now=start + MINUTE
    )
    assert failed.refund_claimed_until == jobs.refund_claimed_until  # still the job's
    assert (await _balance(db)).balance == 0  # the credits still out
    done = await star_refunds.finish_refund(
        db, payment_id=payment_id, admin_id=None, now=start + 3 * MINUTE
    )
    assert done.state.value == "refunded" and (await _balance(db)).balance == 0
    await assert_audit_ok(db)


async def test_the_admins_list_shows_a_pending_refund_older_than_the_latest_payments(
    db: Database,
) -> None:
    """/stars lists the latest payments and, below them, every refund still pending
    however old, so its 🔁 Ask Telegram again is always at hand."""
    payment_id = await _pending(db, now())  # the first payment, its refund pending
    method = (await _method(db)).id
    later = (await _pay(db, await _invoice(db, method), charge="stxCHARGE2")).payment
    listed = await star_payments.recent(db, limit=1)
    assert [p.id for p in listed] == [later.id, payment_id]
    await star_refunds.finish_refund(db, payment_id=payment_id, admin_id=None, now=now())
    assert [p.id for p in await star_payments.recent(db, limit=1)] == [later.id]
