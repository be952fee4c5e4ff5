"""Failure drill: the Bot API answers with storms of server errors (5xx) and 429s.

Replies and the outbox's notices back off, honour ``retry_after``, and afterwards every
one is delivered exactly once; the bot does not crash."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.services import outbox
from bot.services.alerts import Kind
from bot.settings import Settings
from models import OutboxMessage, OutboxStatus
from tests.conftest import running_bot
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, now


def _sends_to(fake_api: FakeBotAPI, chat_id: int) -> int:
    """Messages that reached the chat (failed requests are not in its log)."""
    return sum(1 for event in fake_api.events(chat_id) if event.method == "sendMessage")


async def test_a_reply_outlasts_server_errors_and_a_429_and_arrives_once(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, 1001, name="Alice", credit=1_000)
    alice = fake_api.user(1001, "Alice")
    async with running_bot(settings, db):
        fake_api.fail("sendMessage", 500, "Internal Server Error", chat_id=alice.id, times=1)
        fake_api.fail("sendMessage", 502, "Bad Gateway", chat_id=alice.id, times=1)
        fake_api.fail(
            "sendMessage", 429, "Too Many Requests: retry after 1",
            chat_id=alice.id, retry_after=1, times=1,
        )  # fmt: skip
        started = time.monotonic()
        await fake_api.send(alice, "/balance")
        reply = await fake_api.next_event(alice.id, within=15)
        assert time.monotonic() - started >= 1  # the 429's retry_after was waited out
        assert "Your balance" in reply.text
        await asyncio.sleep(0.5)  # an extra copy would have arrived by now
        assert _sends_to(fake_api, alice.id) == 1
        assert sum(1 for method, _ in fake_api.requests if method == "sendMessage") == 4


@pytest.fixture
def sending(settings: Settings) -> Settings:
    """The outbox sender runs, as in production."""
    return settings.model_copy(update={"jobs_enabled": True, "outbox_interval_seconds": 0.5})


async def test_the_outbox_backs_off_through_a_storm_and_sends_each_notice_once(
    sending: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    customers = [fake_api.user(20_000 + i, f"Customer {i}") for i in range(3)]
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            [
                outbox.Outgoing(f"storm:{c.id}", c.id, Kind.GRANT_EXPIRED, {"amount": 100})
                for c in customers
            ],
            now(),
        )
    fake_api.fail("sendMessage", 500, "Internal Server Error", times=3)
    # More 429s in a row than the rate limiter retries: the sender reschedules.
    fake_api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1, times=5)
    async with running_bot(sending, db):
        for customer in customers:
            assert "1.00 credits" in (await fake_api.next_event(customer.id, within=20)).text
        await asyncio.sleep(1)  # a repeat would have gone out by now
    assert [_sends_to(fake_api, c.id) for c in customers] == [1, 1, 1]
    assert all(f.times == 0 for f in fake_api.failures)  # the whole storm was met
    async with db.read() as session:
        rows = (await session.execute(select(OutboxMessage.status, OutboxMessage.attempts))).all()
    assert {status for status, _ in rows} == {OutboxStatus.SENT}
    assert max(attempts for _, attempts in rows) >= 1  # backed off, not dropped
