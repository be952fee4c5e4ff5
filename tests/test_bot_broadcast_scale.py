"""Broadcasts through the fake Bot API with the real sender loop: one copy each, none to
those who opted out, a 403 marks the chat blocked, Stop halts a broadcast to 10,000
customers within a second, and the progress message's counts are exactly what went out.

The rate is raised to 1000 messages a second (paid broadcasts on), the fake's flood
limit too, so the tests take seconds, not the minutes copies take at Telegram's free 30:
the sender then keeps a window of 50 chats in flight and records their outcomes a group
at a time. Both broadcasts go to 10,000 customers; one runs to its end, one is stopped.
"""

from __future__ import annotations

import asyncio
import collections
import time

import pytest
from sqlalchemy import select

from bot.context import BotApplication
from bot.db import Database
from bot.services import plans
from bot.settings import Settings
from handlers.announce import callbacks as an
from jobs import broadcast, notifier
from models import UnreachableChat
from tests.conftest import ADMIN_ID, running_bot
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, tap
from tests.test_bot_announcements import T0, add_customers, compose, counts, shown_now

FIRST_CHAT = 10_000_000
BLOCKED = FIRST_CHAT + 7


def opted_out(customers: int) -> range:
    return range(FIRST_CHAT, FIRST_CHAT + customers, 100)  # every hundredth


@pytest.fixture
def fast(settings: Settings, fake_api: FakeBotAPI) -> Settings:
    fake_api.flood_limit = 1000
    return settings.model_copy(
        update={"telegram_messages_per_second": 1000, "telegram_paid_broadcast": True}
    )


def copies(fake_api: FakeBotAPI, customers: int) -> collections.Counter[int]:
    """Copies delivered, by chat (a refused request is not a delivery)."""
    found: collections.Counter[int] = collections.Counter()
    for chat in range(FIRST_CHAT, FIRST_CHAT + customers):
        found[chat] = sum(1 for e in fake_api.events(chat) if e.method == "sendMessage")
    return found


class Sender:
    """The outbox job's loop, as the job queue would run it, until told to stop."""

    def __init__(self, app: BotApplication, db: Database, settings: Settings) -> None:
        self.app, self.db, self.settings = app, db, settings
        self.done = asyncio.Event()

    async def run(self) -> None:
        last_sent: dict[int, float] = {}
        while not self.done.is_set():
            await notifier.drain(
                self.app.bot, self.db, self.settings, T0, budget_seconds=1.0,
                last_sent=last_sent, catalogs=self.app.bot_data["i18n"],
            )  # fmt: skip
            await broadcast.refresh_progress(
                self.app.bot, self.db, self.settings, T0, self.app.bot_data["i18n"]
            )
            await asyncio.sleep(0.05)


def delivered(fake_api: FakeBotAPI) -> int:
    return sum(
        1
        for method, params in fake_api.requests
        if method == "sendMessage" and int(params.get("chat_id", 0)) >= FIRST_CHAT
    )


async def _setup(db: Database, fake_api: FakeBotAPI, customers: int) -> None:
    await make_reseller(db, 1001, name="Alice")
    plan = await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_000)
    chats = range(FIRST_CHAT, FIRST_CHAT + customers)
    await add_customers(db, 1001, plan.id, chats, opted_out=opted_out(customers))
    for chat in chats:
        fake_api.user(chat)
    fake_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=BLOCKED)


async def test_every_customer_gets_one_copy_and_the_counts_are_exact(
    fast: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    customers = 10_000
    await _setup(db, fake_api, customers)
    async with running_bot(fast, db) as app:
        app.bot_data["clock"] = lambda: T0
        admin = fake_api.user(ADMIN_ID, "Owner")
        controls = await compose(fake_api, admin, admin=True)
        assert "It will reach <b>9,900</b> chats." in controls.text
        progress = await tap(fake_api, admin, controls, controls.buttons[0][1])
        sender = Sender(app, db, fast)
        task = asyncio.create_task(sender.run())
        started = time.monotonic()
        try:
            # 48 s on this 2-core machine at a load of 2; room for a busier one.
            for _ in range(3_000):
                if "was sent" in shown_now(fake_api, progress):
                    break
                await asyncio.sleep(0.1)
        finally:
            sender.done.set()
            await task
        took = time.monotonic() - started
    print(f"10,000 customers: {delivered(fake_api)} copies in {took:.1f} s")
    assert fake_api.flood_429s == 0
    got = copies(fake_api, customers)
    assert {got[chat] for chat in opted_out(customers)} == {0}
    assert got[BLOCKED] == 0
    chats = range(FIRST_CHAT, FIRST_CHAT + customers)
    eligible = set(chats) - set(opted_out(customers)) - {BLOCKED}
    assert {got[chat] for chat in eligible} == {1}
    async with db.transaction() as session:
        assert await session.scalar(select(UnreachableChat.chat_id)) == BLOCKED
    assert counts(shown_now(fake_api, progress)) == (len(eligible), 0, 1, 0)


async def test_stop_halts_a_broadcast_to_ten_thousand_within_a_second_with_exact_counts(
    fast: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    customers = 10_000
    await _setup(db, fake_api, customers)
    async with running_bot(fast, db) as app:
        app.bot_data["clock"] = lambda: T0
        admin = fake_api.user(ADMIN_ID, "Owner")
        controls = await compose(fake_api, admin, admin=True)
        progress = await tap(fake_api, admin, controls, controls.buttons[0][1])
        sender = Sender(app, db, fast)
        task = asyncio.create_task(sender.run())
        try:
            for _ in range(3_000):
                if delivered(fake_api) >= 1_000:
                    break
                await asyncio.sleep(0.02)
            await fake_api.answer(await fake_api.tap(admin, progress, an.STOP.build(1)))
            stopped_at, at_stop = time.monotonic(), delivered(fake_api)
            await asyncio.sleep(1.0)
            within_a_second = delivered(fake_api)
            await asyncio.sleep(1.0)
            assert delivered(fake_api) == within_a_second  # nothing after the first second
            # At most what was on the wire: the sender's window, and those the limiter
            # let through after the tap's answer and before Stop was written.
            assert within_a_second - at_stop <= notifier.window_size(fast)
            assert time.monotonic() - stopped_at >= 2
            for _ in range(100):
                if "was stopped" in shown_now(fake_api, progress):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.3)  # one more pass: the final counts
        finally:
            sender.done.set()
            await task
    got = copies(fake_api, customers)
    assert max(got.values()) == 1
    assert {got[chat] for chat in opted_out(customers)} == {0}
    sent = sum(got.values())
    blocked = 1 if fake_api.failures[0].times == 0 else 0
    shown = shown_now(fake_api, progress)
    assert "was stopped" in shown
    assert counts(shown) == (sent, 0, blocked, 0)
    assert f"Not sent because of the Stop: {9_900 - sent - blocked:,}" in shown
