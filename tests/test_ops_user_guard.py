"""One user's updates across two instances on one PostgreSQL database (bot/user_guard.py).

Two real applications stand for two instances behind one webhook: each has its own
engine (so its own connections and sessions, as two processes would) and its own memory.
The users' updates are fetched from the fake Bot API and handed to whichever instance the
test chooses, as a load balancer would.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text
from telegram import Update
from telegram.ext import TypeHandler

from bot.app import build_application
from bot.context import BotApplication, BotContext
from bot.db import Database, advisory_key
from bot.pg_locks import AdvisoryLocks
from bot.settings import Settings
from bot.updates import PerUserUpdateProcessor
from bot.user_guard import UserGuard
from models import ConversationState, TopUpRequest, UserData
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID, PG_URL, _reset_postgres, database_from_url
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, setup_topups
from tests.test_ops_leader import until

RESELLER = 1001
SLOW = 0.3  # seconds the watching handler keeps each update


class Balancer:
    """Hands the updates sent since the last hand-over to the instance chosen."""

    def __init__(self) -> None:
        self.offset = 0

    async def to(self, app: BotApplication) -> int:
        updates = await app.bot.get_updates(offset=self.offset, timeout=0)
        for update in updates:
            await app.update_queue.put(update)
            self.offset = update.update_id + 1
        return len(updates)


@contextlib.asynccontextmanager
async def instance(settings: Settings, url: str) -> AsyncIterator[BotApplication]:
    """One bot instance on its own engine, fed by the test instead of polling."""
    db = database_from_url(url)
    app = build_application(settings, db)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    await app.start()
    try:
        yield app
    finally:
        await app.stop()
        await app.shutdown()
        await db.dispose()


def _settings(fake_api: FakeBotAPI, url: str, timeout_minutes: float = 15) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(fake_api.token),
        telegram_api_base_url=fake_api.url,
        database_url=url,
        admin_ids=frozenset({ADMIN_ID}),
        admin_chat_id=ADMIN_CHAT_ID,
        currency="credits",
        timezone="UTC",
        jobs_enabled=False,
        conversation_timeout_minutes=timeout_minutes,
    )


@pytest.fixture
def pg_url(postgres_schema: str) -> str:
    return f"{PG_URL}#schema={postgres_schema}"


@pytest.fixture
async def pg_db(pg_url: str) -> AsyncIterator[Database]:
    db = database_from_url(pg_url)
    await _reset_postgres(db)
    await make_reseller(db, RESELLER, name="Alice", credit=1_000)
    await setup_topups(db)
    yield db
    await db.dispose()


@pytest.fixture
def alice(fake_api: FakeBotAPI) -> User:
    return fake_api.user(RESELLER, "Alice", "alice_shop")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> str:
    return await fake_api.tap(user, event, data)


def _processor(app: BotApplication) -> PerUserUpdateProcessor:
    processor = app.update_processor
    assert isinstance(processor, PerUserUpdateProcessor)
    return processor


def _guard(app: BotApplication) -> UserGuard:
    guard = _processor(app).guard
    assert isinstance(guard, UserGuard)
    return guard


async def _rows(db: Database) -> tuple[list[TopUpRequest], int, int]:
    async with db.transaction() as session:
        requests = list((await session.scalars(select(TopUpRequest))).all())
        steps = await session.scalar(select(func.count()).select_from(ConversationState))
        drafts = await session.scalar(select(func.count()).select_from(UserData))
    return requests, int(steps or 0), int(drafts or 0)


async def test_a_top_up_begun_on_one_instance_goes_on_and_ends_on_the_other(
    fake_api: FakeBotAPI, pg_url: str, pg_db: Database, alice: User
) -> None:
    settings = _settings(fake_api, pg_url)
    lb = Balancer()
    async with instance(settings, pg_url) as a, instance(settings, pg_url) as b:
        await fake_api.send(alice, "/topup")
        await lb.to(a)
        ask = await fake_api.next_event(alice.id)
        assert "How many credits" in ask.text
        await fake_api.send(alice, "100")
        await lb.to(b)  # B never saw the flow begin: it reads the step back
        priced = await fake_api.next_event(alice.id)
        assert priced.method == "editMessageText" and "Total to pay" in priced.text
        await _tap(fake_api, alice, priced, priced.button("Bank"))
        await lb.to(a)  # A's memory still says "amount": it reads the newer step
        instructions = await fake_api.next_event(alice.id)
        assert "Send the proof of payment" in instructions.text
        await fake_api.send(alice, "TX-777")
        await lb.to(b)
        summary = await fake_api.next_event(alice.id)
        assert "Check your top-up request" in summary.text and "TX-777" in summary.text
        confirm = summary.key("✅ Confirm")
        await _tap(fake_api, alice, summary, confirm)
        await lb.to(a)
        done = await fake_api.next_event(alice.id)
        assert "request #1 sent" in done.text
        post = await fake_api.next_event(ADMIN_CHAT_ID)
        assert "Top-up #1" in post.text and "100.00 credits" in post.text
        await _tap(fake_api, alice, summary, confirm)  # a double tap, on the other one
        await lb.to(b)
        await asyncio.sleep(0.5)
        assert _guard(a).locks.taken == 3 and _guard(b).locks.taken == 3
    requests, steps, drafts = await _rows(pg_db)
    assert [(r.credits, r.proof_reference, r.status) for r in requests] == [
        (10_000, "TX-777", "pending")
    ]
    assert (steps, drafts) == (0, 0)  # the flow ended, and its draft is gone
    assert fake_api.unread(ADMIN_CHAT_ID) == []  # posted once


def _watch(app: BotApplication, name: str, spans: list[tuple[str, float, float]]) -> None:
    """A handler before all others that holds each update a while and notes when."""

    async def slow(update: Update, context: BotContext) -> None:
        started = time.monotonic()
        await asyncio.sleep(SLOW)
        spans.append((name, started, time.monotonic()))

    app.add_handler(TypeHandler(Update, slow), group=-10)


async def test_two_updates_of_one_user_reaching_both_instances_at_once_run_one_after_the_other(
    fake_api: FakeBotAPI, pg_url: str, pg_db: Database, alice: User
) -> None:
    settings = _settings(fake_api, pg_url)
    spans: list[tuple[str, float, float]] = []
    async with instance(settings, pg_url) as a, instance(settings, pg_url) as b:
        _watch(a, "a", spans)
        _watch(b, "b", spans)
        await fake_api.send(alice, "/balance")
        await fake_api.send(alice, "/balance")
        updates = await a.bot.get_updates(timeout=0)
        assert len(updates) == 2
        # Delivered at the same moment, one to each instance.
        await asyncio.gather(a.update_queue.put(updates[0]), b.update_queue.put(updates[1]))
        await until(lambda: len(spans) == 2, within=10)
        await fake_api.next_event(alice.id)
        await fake_api.next_event(alice.id)
        waits = _guard(a).locks.waits + _guard(b).locks.waits
    (one, _, end_1), (other, start_2, _) = sorted(spans, key=lambda s: s[1])
    assert {one, other} == {"a", "b"}
    assert start_2 >= end_1, f"the two updates overlapped: {spans}"
    assert waits >= 1  # the second found the lock taken, and waited


async def test_a_handler_that_fails_gives_the_lock_up(
    fake_api: FakeBotAPI, pg_url: str, pg_db: Database, alice: User
) -> None:
    settings = _settings(fake_api, pg_url)
    lb = Balancer()
    async with instance(settings, pg_url) as a, instance(settings, pg_url) as b:

        async def boom(update: Update, context: BotContext) -> None:
            raise RuntimeError("a handler broke")

        a.add_handler(TypeHandler(Update, boom), group=-10)
        await fake_api.send(alice, "/topup")
        await lb.to(a)
        told = await fake_api.next_event(alice.id)  # the error is reported to the user
        assert "How many credits" not in told.text
        ask = await fake_api.next_event(alice.id)  # and the later groups still ran
        assert "How many credits" in ask.text
        await until(lambda: _processor(a).running == 0)  # the reply comes before the end
        key = advisory_key(f"user:{RESELLER}", "test", pg_url.split("#schema=")[1])
        assert not await _lock_held(pg_db, key)
        await fake_api.send(alice, "100")
        await lb.to(b)
        priced = await fake_api.next_event(alice.id, within=3)
        assert "Total to pay" in priced.text
        assert _guard(b).locks.waits == 0


async def _lock_held(db: Database, key: int) -> bool:
    """Whether any session holds the advisory lock ``key`` (a bigint key is split in
    two 32-bit halves in pg_locks)."""
    high, low = (key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF
    async with db.engine.connect() as conn:
        found = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND classid::bigint = :high AND objid::bigint = :low AND objsubid = 1"
            ),
            {"high": high, "low": low},
        )
    return bool(found)


async def test_an_update_cancelled_holding_or_awaiting_the_lock_gives_it_up(
    pg_db: Database, pg_url: str
) -> None:
    other = database_from_url(pg_url)
    here, there = AdvisoryLocks(pg_db.engine), AdvisoryLocks(other.engine)
    key = await here.key_of(42)
    assert key == await there.key_of(42)
    assert pg_db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]  # not from the pool
    inside = asyncio.Event()

    async def hold(locks: AdvisoryLocks) -> None:
        async with locks.holding(key):
            inside.set()
            await asyncio.sleep(60)

    try:
        holder = asyncio.create_task(hold(here))
        await inside.wait()
        assert await _lock_held(pg_db, key)
        inside.clear()
        waiter = asyncio.create_task(hold(there))
        await until(lambda: there.waits >= 2)
        waiter.cancel()  # gave up while waiting: takes nothing
        holder.cancel()  # cancelled inside: gives the lock up
        await asyncio.gather(holder, waiter, return_exceptions=True)
        await until(lambda: not here._releasing)
        assert not inside.is_set()
        assert not await _lock_held(pg_db, key)
        async with there.holding(key):  # free for the other instance at once
            assert await _lock_held(pg_db, key)
        assert there.waits < 10
    finally:
        await here.close()
        await there.close()
        await other.dispose()


async def test_a_lock_connection_the_server_cut_is_replaced_and_the_next_lock_taken(
    pg_db: Database,
) -> None:
    locks = AdvisoryLocks(pg_db.engine)
    try:
        key = await locks.key_of(7)
        pid = await locks.run(lambda conn: conn.fetchval("SELECT pg_backend_pid()"))
        async with pg_db.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        async with locks.holding(key):
            assert await _lock_held(pg_db, key)
            assert await locks.run(lambda conn: conn.fetchval("SELECT pg_backend_pid()")) != pid
        assert not await _lock_held(pg_db, key)
        # A statement that fails on its own leaves the connection, and its locks, alone.
        async with locks.holding(key):
            with pytest.raises(Exception, match="no_such_table"):
                await locks.run(lambda conn: conn.execute("SELECT * FROM no_such_table"))
            assert await _lock_held(pg_db, key)
    finally:
        await locks.close()


async def test_a_timeout_left_on_the_first_instance_does_not_end_a_flow_gone_on_elsewhere(
    fake_api: FakeBotAPI, pg_url: str, pg_db: Database, alice: User
) -> None:
    timeout = 3.0
    settings = _settings(fake_api, pg_url, timeout_minutes=timeout / 60)
    lb = Balancer()
    async with instance(settings, pg_url) as a, instance(settings, pg_url) as b:
        started = time.monotonic()
        await fake_api.send(alice, "/topup")
        await lb.to(a)
        await fake_api.next_event(alice.id)
        await asyncio.sleep(timeout / 2)
        await fake_api.send(alice, "100")
        await lb.to(b)
        answered = time.monotonic()
        assert "Total to pay" in (await fake_api.next_event(alice.id)).text
        # A's timeout comes due, and is dropped: the flow went on in B since.
        await asyncio.sleep(started + timeout + 0.7 - time.monotonic())
        assert fake_api.unread(alice.id) == []
        assert (await _rows(pg_db))[1:] == (1, 1)
        # B's own timeout ends it, once.
        ended = await fake_api.next_event(alice.id, within=timeout + 2)
        assert "timed out" in ended.text
        assert time.monotonic() - answered >= timeout - 0.1
        await asyncio.sleep(1.5)  # the end is written within the persistence's second
        assert fake_api.unread(alice.id) == []
    assert (await _rows(pg_db))[1:] == (0, 0)


async def test_sqlite_takes_no_guard_and_postgresql_guards_every_user_update(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, backend: str
) -> None:
    alice = fake_api.user(RESELLER, "Alice")
    await make_reseller(db, RESELLER, name="Alice", credit=1_000)
    await fake_api.send(alice, "/balance")
    assert "Balance" in (await fake_api.next_event(alice.id)).text
    processor = _processor(bot)
    if backend == "sqlite":
        assert processor.guard is None and "user_guard" not in bot.bot_data
    else:
        assert isinstance(processor.guard, UserGuard) and processor.guard.locks.taken == 1


async def test_a_lock_connection_that_cannot_be_opened_fails_the_updates_waiting_for_it_at_once(
    pg_db: Database,
) -> None:
    """A server that does not answer (no refusal: a connect timeout) costs the updates
    that wait for the lock connection meanwhile one timeout in all, not one each."""
    locks = AdvisoryLocks(pg_db.engine)
    keys = [await locks.key_of(user) for user in (7, 8, 9, 10)]  # four users' updates
    await locks.close()  # the session gone; the next update must open another

    class Unreachable:
        async def connect(self) -> None:
            await asyncio.sleep(0.5)
            raise TimeoutError("connecting timed out")

    locks.engine = Unreachable()  # type: ignore[assignment]

    async def update(key: int) -> None:
        async with locks.holding(key):
            raise AssertionError("no lock can be had")

    started = time.monotonic()
    failures = await asyncio.gather(*(update(key) for key in keys), return_exceptions=True)
    assert all(isinstance(f, OSError) for f in failures), failures
    assert time.monotonic() - started < 1.2  # not 4 x 0.5 s in turn
