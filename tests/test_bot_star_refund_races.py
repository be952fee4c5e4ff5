"""A top-up's refund left pending, asked of Telegram by two callers one after the other's
lease ran out (a flood pause, a slow Telegram), through the running bot and the fake Bot
API: whatever order their answers come in, the Stars go back once and the credits stay
out (or, if the reseller spent them meanwhile, what could not be taken is recorded as
the shortfall and the admins told), never both the Stars and the credits returned."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from bot.context import BotApplication
from bot.db import Database
from bot.services import star_refund_claims, star_refunds
from jobs import stars as stars_job
from models import StarPayment, StarState
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID
from tests.fake_bot_api import FakeBotAPI, User
from tests.helpers import assert_audit_ok, now
from tests.stars_setup import hold_refunds, recovery_by_hand, refunds_made
from tests.test_bot_stars import _balance as _alice_balance
from tests.test_bot_stars import (  # noqa: F401  (the fixtures)
    _paid,
    _tap,
    alice,
    boss,
    settings,
)


async def test_an_admins_refused_retry_beside_the_jobs_slow_refund_gives_nothing_back_twice(
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,  # noqa: F811
    boss: User,  # noqa: F811
    bot: BotApplication,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job's refundStarPayment is held up past its lease; an admin's ↩️ Refund on the
    pending refund takes it over and Telegram refuses the admin's call (the credits come
    back, the payment paid again); then the job's call comes back refunded. The Stars are
    with the payer: the credits must not stay with the reseller too."""
    recovery_by_hand(bot)
    # Turn 1, the admin's, refused (a flood pause, say).
    arrived, go = hold_refunds(fake_api, monkeypatch, refused=1)
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    decided = now() - dt.timedelta(minutes=10)  # decided, then the bot stopped
    await star_refunds.begin_refund(
        db, payment_id=1, admin_id=ADMIN_ID, reason="asked by the reseller", now=decided
    )
    assert (await _alice_balance(db)).balance == 1_000

    # The job, a while ago: its lease has run out by now, its call still under way.
    job_at = now() - star_refund_claims.LEASE - dt.timedelta(minutes=1)
    job = asyncio.create_task(
        stars_job.finish_pending_refunds(db, bot.bot, admin_chat_id=ADMIN_CHAT_ID, now=job_at)
    )
    await asyncio.wait_for(arrived[0].wait(), 10)
    await _tap(fake_api, boss, post, post.button("Refund"))  # asks Telegram at once
    await asyncio.wait_for(arrived[1].wait(), 10)
    go[1].set()  # the admin's answer first: refused
    await fake_api.next_event(ADMIN_CHAT_ID)
    go[0].set()
    assert await asyncio.wait_for(job, 10) == 1

    assert len(refunds_made(fake_api)) == 1
    async with db.transaction() as session:
        done = await session.get(StarPayment, 1)
    assert done is not None and done.state == StarState.REFUNDED
    assert (await _alice_balance(db)).balance == 1_000  # the credits out, as the Stars
    told = await fake_api.next_event(ADMIN_CHAT_ID)  # the admins, told they were restored
    assert (
        "Telegram refunded Stars payment #1 of <b>Alice</b> (250 Stars). 500.00 credits were "
        "taken back." in told.text
    )
    await assert_audit_ok(db)
