"""The sender's window: one message at a time at the free rate, several chats in flight
above it, and a crash (here: the database failing while outcomes are recorded) repeats
at most the window's messages when the next pass sends what is left."""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.db import Database
from bot.services import outbox
from bot.services.alerts import Kind
from bot.settings import Settings
from jobs import notifier
from models import OutboxMessage, OutboxStatus
from tests.conftest import running_bot
from tests.fake_bot_api import FakeBotAPI

NOW = dt.datetime(2031, 3, 10, 12, 0, tzinfo=dt.UTC)
FIRST_CHAT = 7_000


def paid(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"telegram_messages_per_second": 1000, "telegram_paid_broadcast": True}
    )


def test_the_window_is_one_at_the_free_rate_and_grows_only_above_it(settings: Settings) -> None:
    assert notifier.window_size(settings) == 1  # the default 30 a second
    free_but_paying = settings.model_copy(update={"telegram_paid_broadcast": True})
    assert notifier.window_size(free_but_paying) == 1
    assert notifier.window_size(paid(settings)) == 50
    forty = settings.model_copy(
        update={"telegram_messages_per_second": 40, "telegram_paid_broadcast": True}
    )
    assert notifier.window_size(forty) == 2


async def _queue(db: Database, fake_api: FakeBotAPI, count: int) -> list[int]:
    chats = [fake_api.user(FIRST_CHAT + i, "Customer").id for i in range(count)]
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            [
                outbox.Outgoing(
                    f"note:{c}", c, Kind.CUSTOMER_UNLINKED, {"username": "u1", "reason": "revoked"}
                )
                for c in chats
            ],
            NOW,
        )
    return chats


async def _marked_sent(db: Database) -> int:
    async with db.transaction() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT)
        )
    return found or 0


def _received(fake_api: FakeBotAPI, chats: list[int]) -> collections.Counter[int]:
    return collections.Counter(
        {c: sum(1 for e in fake_api.events(c) if e.method == "sendMessage") for c in chats}
    )


@pytest.mark.parametrize("rate", ["free", "paid"])
async def test_a_failure_while_recording_repeats_at_most_the_window(
    settings: Settings,
    db: Database,
    fake_api: FakeBotAPI,
    monkeypatch: pytest.MonkeyPatch,
    rate: str,
) -> None:
    chosen = paid(settings) if rate == "paid" else settings
    fake_api.flood_limit = round(chosen.telegram_messages_per_second)
    chats = await _queue(db, fake_api, 300 if rate == "paid" else 12)
    window = notifier.window_size(chosen)
    real_record = outbox.record
    records: list[int] = []

    async def failing_third(db: Database, outcomes: Any, now: dt.datetime, **kw: Any) -> None:
        outcomes = list(outcomes)
        records.append(len(outcomes))
        if len(records) == 3:
            raise RuntimeError("the database went away")
        await real_record(db, outcomes, now, **kw)

    monkeypatch.setattr(outbox, "record", failing_third)
    async with running_bot(chosen, db) as app:
        catalogs = app.bot_data["i18n"]
        with pytest.raises(RuntimeError, match="went away"):
            await notifier.drain(
                app.bot, db, chosen, NOW, budget_seconds=30, last_sent={}, catalogs=catalogs
            )
        delivered = sum(_received(fake_api, chats).values())
        unrecorded = delivered - await _marked_sent(db)
        assert unrecorded == records[2]  # the group whose write failed: still pending
        assert 1 <= unrecorded <= window
        # Several outcomes a transaction above the free rate, one each at it.
        assert max(records) > 1 if rate == "paid" else set(records) == {1}

        monkeypatch.setattr(outbox, "record", real_record)  # the next pass, after a restart
        for _ in range(20):
            if await _marked_sent(db) == len(chats):
                break
            await notifier.drain(
                app.bot, db, chosen, NOW, budget_seconds=30, last_sent={}, catalogs=catalogs
            )
    got = _received(fake_api, chats)
    assert await _marked_sent(db) == len(chats)
    assert set(got.values()) <= {1, 2} and min(got.values()) == 1
    assert sum(1 for n in got.values() if n == 2) == unrecorded  # repeated: only those
    assert fake_api.flood_429s == 0


async def test_a_message_recorded_while_the_next_batch_is_read_is_not_sent_again(
    settings: Settings, db: Database, fake_api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next batch is read while the window still holds a message. The window's record
    may commit after that read saw the message pending but before the read returns (on
    PostgreSQL: during its commit's round trip), and a busy database may take over a
    second to write it, so the chat's one-second spacing no longer holds the message
    back: it must not be taken for a new one and sent again."""
    chats = await _queue(db, fake_api, 1)
    real_due, real_record = outbox.due, outbox.record
    recorded = asyncio.Event()
    reads = 0

    async def record(db: Database, outcomes: Any, now: dt.datetime, **kw: Any) -> None:
        await asyncio.sleep(notifier.PER_CHAT_INTERVAL + 0.1)  # a slow write
        await real_record(db, outcomes, now, **kw)
        recorded.set()

    async def due_returning_late(db: Database, now: dt.datetime, limit: int = 200) -> Any:
        nonlocal reads
        found = await real_due(db, now, limit)
        reads += 1
        if reads == 2:  # the first message is in the window: its record lands meanwhile
            assert found
            await asyncio.wait_for(recorded.wait(), 10)
        return found

    monkeypatch.setattr(outbox, "record", record)
    monkeypatch.setattr(outbox, "due", due_returning_late)
    async with running_bot(settings, db) as app:
        await notifier.drain(
            app.bot, db, settings, NOW, budget_seconds=30, last_sent={},
            catalogs=app.bot_data["i18n"],
        )  # fmt: skip
    assert reads >= 2
    assert _received(fake_api, chats) == {chats[0]: 1}
    assert await _marked_sent(db) == 1
