"""A refund of Stars decided just before the bot stopped (the revenue or the credits
taken back, the payment ``refund_pending``, Telegram never asked or its answer never
recorded): the recovery job, run later, asks Telegram again through the live path's call
and records it once, through the running bot and the fake Bot API: refunded and everyone
told once; Telegram's CHARGE_ALREADY_REFUNDED taken as done; any other answer left
pending for the next run, the admins not told every minute; and an admin's ↩️ Refund at
the same moment kept from asking Telegram beside it."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from telegram.error import BadRequest

from bot.context import BotApplication
from bot.db import Database
from bot.services import star_refund_claims, star_refunds, star_renewal_outcome
from bot.services.stars import Payment
from jobs import stars as stars_job
from models import StarPayment, StarState, Transfer
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID
from tests.fake_bot_api import FakeBotAPI, User
from tests.helpers import assert_audit_ok, now
from tests.stars_setup import (  # noqa: F401  (the fixtures)
    ALICE,
    EARLIER,
    JOHN,
    Shop,
    _balance,
    _count,
    hold_refunds,
    marzban,
    payment_state,
    recovery_by_hand,
    refunds_made,
    renewal_paid_then_stopped,
    shop,
)
from tests.test_bot_stars import _balance as _alice_balance
from tests.test_bot_stars import (  # noqa: F401  (the fixtures)
    _paid,
    _refund_screen,
    _tap,
    alice,
    boss,
    settings,
)


async def _finish(s: Shop, at: dt.datetime) -> int:
    return await stars_job.finish_pending_refunds(
        s.db, s.app.bot, admin_chat_id=ADMIN_CHAT_ID, now=at
    )


async def _decided_then_stopped(s: Shop, at: dt.datetime | None = None) -> Payment:
    """john pays a renewal; the bot records it and decides to refund it (the revenue
    taken back, ``refund_pending``), then stops before asking Telegram."""
    recovery_by_hand(s.app)
    _, payment = await renewal_paid_then_stopped(s)
    pending = await star_renewal_outcome.begin_refund(
        s.db, payment_id=payment.id, reason="panel_failed", now=at or now() - EARLIER
    )
    assert pending.state == StarState.REFUND_PENDING
    assert (await _balance(s.db)).balance == 4_000  # the 20.00 revenue back out
    return pending


async def _transfers(db: Database) -> int:
    return await _count(db, select(func.count()).select_from(Transfer))


async def _nothing_more(s: Shop) -> None:
    await asyncio.sleep(1.0)  # the outbox sends every half second
    assert s.api.unread(JOHN) == [] and s.api.unread(ALICE) == []
    assert s.api.unread(ADMIN_CHAT_ID) == []


async def test_a_refund_decided_just_before_a_crash_is_made_by_the_job_and_told_once(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    pending = await _decided_then_stopped(s)
    # Its caller may still be asking Telegram (the grace, the lease): left alone.
    assert await _finish(s, now() - EARLIER + dt.timedelta(minutes=1)) == 0
    assert refunds_made(s.api) == []

    assert await _finish(s, now()) == 1
    assert await payment_state(s, pending.id) == StarState.REFUNDED
    refunds = refunds_made(s.api)
    assert len(refunds) == 1 and refunds[0]["amount"] == 10
    told = await s.api.next_event(JOHN)  # through the outbox: he is not there to answer
    assert "your 10 Stars were refunded" in told.text
    assert (
        "paid 10 Stars for a renewal that could not be done" in (await s.api.next_event(ALICE)).text
    )
    assert "was refunded automatically" in (await s.api.next_event(ADMIN_CHAT_ID)).text
    transfers = await _transfers(s.db)

    # Again: nothing refunded, moved or said twice.
    assert await _finish(s, now() + EARLIER) == 0
    await _nothing_more(s)
    assert len(refunds_made(s.api)) == 1
    assert (await _balance(s.db)).balance == 4_000 and await _transfers(s.db) == transfers
    await assert_audit_ok(s.db)


async def test_telegram_saying_already_refunded_is_recorded_with_nothing_moved_again(
    shop: Shop,  # noqa: F811
) -> None:
    """Telegram refunded before the crash; asked again it answers HTTP 400 "Bad Request:
    CHARGE_ALREADY_REFUNDED" (the fake as Telegram): the refund stands."""
    s = shop
    pending = await _decided_then_stopped(s)
    assert pending.charge_id is not None
    await s.app.bot.refund_star_payment(JOHN, pending.charge_id)  # then the stop
    with pytest.raises(BadRequest, match=r"(?i)charge_already_refunded"):
        await s.app.bot.refund_star_payment(JOHN, pending.charge_id)
    transfers = await _transfers(s.db)

    assert await _finish(s, now()) == 1
    assert await payment_state(s, pending.id) == StarState.REFUNDED
    assert len(refunds_made(s.api)) == 1
    assert (await _balance(s.db)).balance == 4_000 and await _transfers(s.db) == transfers
    assert "your 10 Stars were refunded" in (await s.api.next_event(JOHN)).text
    await s.api.next_event(ALICE)
    await s.api.next_event(ADMIN_CHAT_ID)
    assert await _finish(s, now() + EARLIER) == 0
    await _nothing_more(s)
    await assert_audit_ok(s.db)


async def test_a_refund_telegram_does_not_make_stays_pending_and_is_tried_again_later(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    # Each run once the last one's wait (as long as the refund has been pending) is over,
    # the last now (the outbox sends what is due by the real time).
    base = now()
    minutes = [base - dt.timedelta(minutes=m) for m in (12, 9, 6)]
    pending = await _decided_then_stopped(s, minutes[0])
    s.api.fail("refundStarPayment", 502, "Bad Gateway")
    assert await _finish(s, minutes[1]) == 0
    s.api.fail("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")
    assert await _finish(s, minutes[2]) == 0
    assert await payment_state(s, pending.id) == StarState.REFUND_PENDING
    async with s.db.transaction() as session:
        error = await session.scalar(
            select(StarPayment.refund_error).where(StarPayment.id == pending.id)
        )
    assert error is not None and "charge_not_found" in error.lower()
    assert refunds_made(s.api) == []
    await _nothing_more(s)  # no one told, the admins not every minute

    assert await _finish(s, now()) == 1
    assert await payment_state(s, pending.id) == StarState.REFUNDED
    assert len(refunds_made(s.api)) == 1
    assert "your 10 Stars were refunded" in (await s.api.next_event(JOHN)).text
    await s.api.next_event(ALICE)
    await s.api.next_event(ADMIN_CHAT_ID)
    await _nothing_more(s)
    assert (await _balance(s.db)).balance == 4_000
    await assert_audit_ok(s.db)


async def test_the_live_refund_leaves_a_payment_the_job_is_refunding_to_it(
    shop: Shop,  # noqa: F811
) -> None:
    """The same payment's update delivered again while the job asks Telegram: the live
    path does not ask beside it, nor take the revenue twice."""
    from handlers.payments.renewal import refund_renewal

    s = shop
    job_at, live_at = now() - dt.timedelta(minutes=5), now() - dt.timedelta(minutes=4)
    pending = await _decided_then_stopped(s, now() - dt.timedelta(minutes=10))
    held = await star_refund_claims.take(s.db, pending.id, job_at)
    assert held is not None and await star_refund_claims.take(s.db, pending.id, live_at) is None
    assert await _finish(s, live_at) == 0  # another run: held
    live = await refund_renewal(
        s.db, s.app.bot, pending.id, "panel_failed", admin_chat_id=ADMIN_CHAT_ID, now=live_at
    )
    assert live.state == StarState.REFUND_PENDING and refunds_made(s.api) == []
    assert (await _balance(s.db)).balance == 4_000
    # The holder stopped too: its lease runs out and the next run finishes the refund.
    assert await _finish(s, job_at + star_refund_claims.LEASE) == 1
    assert len(refunds_made(s.api)) == 1
    await assert_audit_ok(s.db)


# --- a top-up an admin refunds ------------------------------------------------------------


async def _topup_decided_then_stopped(db: Database, api: FakeBotAPI, alice: User) -> Payment:  # noqa: F811
    """Alice tops up 500.00 credits with 250 Stars; an admin confirms a refund (the credits
    taken back, ``refund_pending``) and the bot stops before asking Telegram."""
    await _paid(api, alice)
    pending = await star_refunds.begin_refund(
        db, payment_id=1, admin_id=ADMIN_ID, reason="asked by the reseller", now=now() - EARLIER
    )
    assert (await _alice_balance(db)).balance == 1_000
    return pending


async def test_a_top_up_refund_decided_before_a_crash_is_made_by_the_job_once(
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,  # noqa: F811
    bot: BotApplication,
) -> None:
    recovery_by_hand(bot)
    pending = await _topup_decided_then_stopped(db, fake_api, alice)
    await fake_api.next_event(ADMIN_CHAT_ID)  # the payment's post
    finish = stars_job.finish_pending_refunds
    assert await finish(db, bot.bot, admin_chat_id=ADMIN_CHAT_ID, now=now()) == 1
    assert len(refunds_made(fake_api)) == 1
    told = await fake_api.next_event(alice.id)
    assert "was refunded: 250 Stars returned, 500.00 credits removed" in told.text
    group = await fake_api.next_event(ADMIN_CHAT_ID)  # the admins decided it: told it is done
    assert (
        "The refund of Stars payment #1 of <b>Alice</b> (250 Stars), left pending, is done: "
        "the bot asked Telegram again and the Stars were returned. 500.00 credits stay taken "
        "back. Reason: asked by the reseller" in group.text
    )
    assert await finish(db, bot.bot, admin_chat_id=ADMIN_CHAT_ID, now=now() + EARLIER) == 0
    await asyncio.sleep(1.0)
    assert fake_api.unread(alice.id) == [] and fake_api.unread(ADMIN_CHAT_ID) == []
    async with db.transaction() as session:
        done = await session.get(StarPayment, pending.id)
    assert done is not None and done.state == StarState.REFUNDED
    assert (await _alice_balance(db)).balance == 1_000
    await assert_audit_ok(db)


async def test_an_admin_tapping_refund_while_the_job_refunds_does_not_ask_telegram_too(
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,  # noqa: F811
    boss: User,  # noqa: F811
    bot: BotApplication,
) -> None:
    recovery_by_hand(bot)
    pending = await _topup_decided_then_stopped(db, fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert await star_refund_claims.take(db, pending.id, now()) is not None  # the job's
    # ↩️ Refund on a refund decided already asks Telegram at once: not while the job does.
    told = await _tap(fake_api, boss, post, post.button("Refund"))
    assert "Telegram is being asked for this refund right now" in told["text"]
    assert refunds_made(fake_api) == []
    assert (await _alice_balance(db)).balance == 1_000  # taken once, not restored
    finish = stars_job.finish_pending_refunds
    later = now() + star_refund_claims.LEASE
    assert await finish(db, bot.bot, admin_chat_id=ADMIN_CHAT_ID, now=later) == 1
    assert len(refunds_made(fake_api)) == 1
    assert (await _alice_balance(db)).balance == 1_000
    await assert_audit_ok(db)


async def test_an_admin_refund_outlasting_its_lease_restores_no_credits_the_job_refunds(
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,  # noqa: F811
    boss: User,  # noqa: F811
    bot: BotApplication,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The admin's refundStarPayment is held up past the lease (a flood pause, a slow
    Telegram); the job takes the refund over and its call is under way when the admin's
    comes back refused: the admin's side must not give the credits back, or the job's
    refund would leave the reseller with the credits and the payer with the Stars."""
    recovery_by_hand(bot)
    # Turn 0, the admin's, refused (the answer the job's call would not get).
    arrived, go = hold_refunds(fake_api, monkeypatch, refused=0)
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    screen = await _refund_screen(fake_api, boss, post)
    await _tap(fake_api, boss, screen, screen.button("Refund 250 Stars"))
    await asyncio.wait_for(arrived[0].wait(), 10)
    assert (await _alice_balance(db)).balance == 1_000  # the credits taken back

    later = now() + star_refund_claims.LEASE + dt.timedelta(minutes=1)
    job = asyncio.create_task(
        stars_job.finish_pending_refunds(db, bot.bot, admin_chat_id=ADMIN_CHAT_ID, now=later)
    )
    await asyncio.wait_for(arrived[1].wait(), 10)
    go[0].set()  # the admin's answer first
    told = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "credits were restored" not in told.text
    go[1].set()
    assert await asyncio.wait_for(job, 10) == 1

    assert len(refunds_made(fake_api)) == 1
    async with db.transaction() as session:
        done = await session.get(StarPayment, 1)
    assert done is not None and done.state == StarState.REFUNDED
    assert (await _alice_balance(db)).balance == 1_000  # the credits out once, not back
    await assert_audit_ok(db)


async def test_a_refund_telegram_keeps_refusing_is_asked_again_less_and_less_often(
    shop: Shop,  # noqa: F811
) -> None:
    """Telegram refuses every time (the job's runs a minute apart over three hours): it is
    asked again after as long again as the refund has been pending (capped), not every
    minute for the 30 days the job looks back; an admin's ↩️ Refund is not kept waiting."""
    s = shop
    begun = now() - dt.timedelta(hours=3)
    pending = await _decided_then_stopped(s, begun)
    s.api.fail("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND", times=10_000)

    def asked() -> int:
        return sum(1 for method, _ in s.api.requests if method == "refundStarPayment")

    for minute in range(3, 180):
        assert await _finish(s, begun + dt.timedelta(minutes=minute)) == 0
    assert 3 <= asked() <= 8  # at 3, 6, 12, 24, 48, 96 minutes
    assert await payment_state(s, pending.id) == StarState.REFUND_PENDING
    await _nothing_more(s)  # no one told, the admins not every minute

    # The retry's wait does not hold the refund: the live path may ask at once.
    assert await star_refund_claims.take(s.db, pending.id, begun + dt.timedelta(hours=2))
    s.api.failures.clear()
    assert await _finish(s, begun + dt.timedelta(hours=9)) == 1
    assert await payment_state(s, pending.id) == StarState.REFUNDED
    assert len(refunds_made(s.api)) == 1
    await assert_audit_ok(s.db)
