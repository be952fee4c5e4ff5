"""The election of the one instance that runs the jobs, on PostgreSQL (bot/leader.py).

Two electors in one process stand for two instances: each has its own lock connection,
so the server sees two sessions, as with two processes. And the sender, which asks
before each message whether it still leads.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import BotApplication
from bot.db import Database
from bot.leader import AdvisoryLockElection, SoleInstance, lock_key
from bot.services import outbox
from bot.services.alerts import Kind
from bot.settings import Settings
from jobs import notifier
from models import OutboxMessage, OutboxStatus
from tests.conftest import _pg_engine
from tests.fake_bot_api import FakeBotAPI

BEAT = 0.1  # seconds between tries here; 2.5 s in production


async def until(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Poll ``condition`` (it changes in another task) until true; fail after ``within`` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not true within {within} s")


@pytest.fixture
async def engines(postgres_schema: str) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    first, second = _pg_engine(postgres_schema), _pg_engine(postgres_schema)
    yield first, second
    await first.dispose()
    await second.dispose()


def test_the_lock_key_depends_on_the_database_and_the_schema() -> None:
    key = lock_key("test", "test_a")
    assert key == lock_key("test", "test_a")
    assert -(2**63) <= key < 2**63
    assert len({key, lock_key("test", "test_b"), lock_key("prod", "test_a")}) == 3


async def test_one_leads_and_the_other_takes_over_when_it_lets_go(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    elected: list[str] = []
    a = AdvisoryLockElection(engines[0], retry_seconds=BEAT, on_elected=lambda: elected.append("a"))
    b = AdvisoryLockElection(engines[1], retry_seconds=BEAT, on_elected=lambda: elected.append("b"))
    await a.start()
    await b.start()
    try:
        assert (a.role, b.role) == ("leader", "standby")
        assert a.key == b.key
        await asyncio.sleep(5 * BEAT)  # the standby keeps trying, in vain
        assert (a.is_leader, b.is_leader) == (True, False)
        await a.stop()  # a shutdown gives the lock up
        await until(lambda: b.is_leader)
        assert elected == ["a", "b"]
    finally:
        await a.stop()
        await b.stop()


async def test_a_leader_whose_connection_is_cut_steps_down_and_the_standby_leads(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    a = AdvisoryLockElection(engines[0], retry_seconds=BEAT)
    b = AdvisoryLockElection(engines[1], retry_seconds=BEAT)
    await a.start()
    await b.start()
    try:
        assert a.is_leader and not b.is_leader
        # The server ends the leader's session, as when its process or network dies.
        async with engines[1].connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": a.backend_pid})
        await until(lambda: b.is_leader)
        await until(lambda: not a.is_leader)
        await asyncio.sleep(5 * BEAT)  # the old leader reconnects, and stays a standby
        assert (a.is_leader, b.is_leader) == (False, True)
    finally:
        await a.stop()
        await b.stop()


async def test_bots_in_other_schemas_of_the_same_database_do_not_wait_on_each_other(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    other = f"test_{uuid.uuid4().hex[:12]}"
    async with engines[0].begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{other}"'))
    elsewhere = _pg_engine(other)
    here = AdvisoryLockElection(engines[0], retry_seconds=BEAT)
    there = AdvisoryLockElection(elsewhere, retry_seconds=BEAT)
    try:
        await here.start()
        await there.start()
        assert here.is_leader and there.is_leader
        assert here.key != there.key
    finally:
        await here.stop()
        await there.stop()
        await elsewhere.dispose()
        async with engines[0].begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{other}" CASCADE'))


async def test_a_fixed_key_from_the_settings_is_used_as_it_is(
    engines: tuple[AsyncEngine, AsyncEngine],
) -> None:
    key = int(uuid.uuid4().int % 2**62)
    a = AdvisoryLockElection(engines[0], key=key, retry_seconds=BEAT)
    b = AdvisoryLockElection(engines[1], key=key, retry_seconds=BEAT)
    await a.start()
    await b.start()
    try:
        assert a.key == b.key == key
        assert a.is_leader and not b.is_leader
    finally:
        await a.stop()
        await b.stop()


async def test_with_sqlite_the_one_instance_always_leads() -> None:
    sole = SoleInstance()
    await sole.start()
    assert sole.is_leader and sole.role == "leader"
    await sole.stop()


async def test_the_sender_stops_between_two_messages_once_it_no_longer_leads(
    bot: BotApplication, db: Database, settings: Settings, fake_api: FakeBotAPI
) -> None:
    now = dt.datetime(2031, 3, 10, 12, 0, tzinfo=dt.UTC)
    chats = [fake_api.user(7000 + i, "Customer").id for i in range(5)]
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            [
                outbox.Outgoing(
                    f"note:{c}", c, Kind.CUSTOMER_UNLINKED, {"username": "u1", "reason": "revoked"}
                )
                for c in chats
            ],
            now,
        )
    asked: list[bool] = []

    def still_leader() -> bool:  # another instance takes over after the second message
        asked.append(True)
        return len(asked) <= 2

    sent = await notifier.drain(
        bot.bot, db, settings, now, budget_seconds=30, last_sent={},
        catalogs=bot.bot_data["i18n"], still_leader=still_leader,
    )  # fmt: skip
    assert sent == 2
    assert sum(len(fake_api.events(c)) for c in chats) == 2
    async with db.transaction() as session:
        pending = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
        )
    assert pending == 3  # left for the new leader, not marked
