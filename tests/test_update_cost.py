"""What a simple command costs the database, counted (not timed): the reply benchmark
(tests/bench_replies.py) showed the bot CPU-bound on these statements.

A reseller asking /balance, /history and /start again reads, and writes nothing; who
is asking is one short read; a chat found not marked unreachable is not read again
for a minute, and a mark this process makes is seen at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from asyncpg.connection import LoggedQuery
from sqlalchemy import event, insert, select, text
from sqlalchemy.exc import OperationalError

from bot import user_guard
from bot.context import BotApplication
from bot.db import Database, Reads
from bot.services import outbox
from models import Reseller, UnreachableChat
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, now


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: object) -> None:
        seen.append(" ".join(str(args[2]).split()))

    engines = [engine.sync_engine for engine in db.engines]  # the readers' too
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def _ask(fake_api: FakeBotAPI, db: Database, text: str, user_id: int = 1001) -> list[str]:
    user = fake_api.user(user_id, "Alice")
    with statements(db) as seen:
        await fake_api.send(user, text)
        await fake_api.next_event(user.id)
        await asyncio.sleep(0.2)  # anything the update still does after its answer
    return seen


def _writes(seen: list[str]) -> list[str]:
    verbs = ("INSERT", "UPDATE", "DELETE", "BEGIN IMMEDIATE")
    return [s for s in seen if s.upper().startswith(verbs)]


async def test_a_reseller_asking_again_only_reads_and_reads_little(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, credit=10_000)
    await _ask(fake_api, db, "/start")  # the first update: language chosen, menu set
    guard = bot.bot_data.get(user_guard.BOT_DATA_KEY)
    assert (guard is not None) == (db.engine.dialect.name == "postgresql")
    for command, most in (("/balance", 2), ("/history", 2), ("/start", 1)):
        with lock_statements(guard) as locked:
            seen = await _ask(fake_api, db, command)
        assert _writes(seen) == [], (command, seen)
        assert len(seen) <= most, (command, seen)
        if guard is not None:
            assert [next(p for p in USER_LOCK if s.startswith(p)) for s in locked] == list(
                USER_LOCK
            ), locked


# On PostgreSQL every update runs under its user's advisory lock, with the step and the
# drafts read back (bot/user_guard.py): a fixed cost of three statements on the lock's own
# connection, spoken to through asyncpg rather than SQLAlchemy, none of them the command's.
USER_LOCK = (
    "SELECT pg_try_advisory_lock(",
    "SELECT name, key, state, updated_at FROM conversation_states",
    "SELECT pg_advisory_unlock(",
)


@contextmanager
def lock_statements(guard: user_guard.UserGuard | None) -> Iterator[list[str]]:
    """The statements sent on the user guard's own connection meanwhile."""
    seen: list[str] = []
    raw = guard.locks._raw if guard is not None else None
    if raw is None:
        yield seen
        return

    def record(query: LoggedQuery) -> None:
        seen.append(" ".join(query.query.split()))

    raw.add_query_logger(record)
    try:
        yield seen
    finally:
        raw.remove_query_logger(record)


async def test_a_chat_marked_unreachable_is_cleared_by_its_next_update_despite_the_memo(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, credit=10_000)
    await _ask(fake_api, db, "/balance")  # found unmarked: remembered for a minute
    assert not any("unreachable_chats" in s for s in await _ask(fake_api, db, "/balance"))
    await outbox.mark_unreachable(db, 1001, "Forbidden: bot was blocked by the user", now())
    seen = await _ask(fake_api, db, "/balance")  # unblocked, writes again
    assert any(s.startswith("DELETE FROM unreachable_chats") for s in seen)
    async with db.transaction() as session:
        assert await session.get(UnreachableChat, 1001) is None


async def test_the_memo_lasts_a_minute_for_a_mark_another_instance_made(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1_000.0]
    monkeypatch.setattr(outbox, "_clock", lambda: clock[0])
    assert await outbox.mark_reachable(db, 7) is False
    async with db.transaction() as session:  # another instance's sender marks it
        session.add(UnreachableChat(chat_id=7, reason="blocked", since=now()))
    clock[0] += outbox.REACHABLE_FOR_SECONDS - 1
    assert await outbox.mark_reachable(db, 7) is False  # still trusted
    clock[0] += 2
    assert await outbox.mark_reachable(db, 7) is True  # read again, and cleared
    assert await outbox.mark_reachable(db, 7) is False


async def _unreachable(reading: Reads, chat_id: int) -> str | None:
    return await reading.scalar(
        select(UnreachableChat.reason).where(UnreachableChat.chat_id == chat_id)
    )


async def test_a_read_session_sends_no_begin_on_sqlite(db: Database) -> None:
    with statements(db) as seen:
        async with db.read() as reading:
            assert await _unreachable(reading, 1) is None
        async with db.transaction() as session:
            assert await session.get(UnreachableChat, 2) is None
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins == (["BEGIN IMMEDIATE"] if db.engine.dialect.name == "sqlite" else [])


async def test_reads_go_on_while_a_write_transaction_is_open(db: Database) -> None:
    """On SQLite the writer holds the file's write lock from BEGIN IMMEDIATE to its
    commit; screens read meanwhile on connections of their own (WAL), several at once,
    and see what was committed before."""
    await make_reseller(db, 1001, credit=10_000)
    async with db.transaction() as session:
        session.add(UnreachableChat(chat_id=7, reason="blocked", since=now()))
        await session.flush()

        async def read() -> int | None:
            async with db.read() as reading:
                return await reading.scalar(select(Reseller.telegram_id))

        found = await asyncio.wait_for(asyncio.gather(*(read() for _ in range(6))), 5)
        assert found == [1001] * 6
        async with db.read() as reading:
            assert await _unreachable(reading, 7) is None  # not committed yet


async def test_a_write_through_a_read_session_fails_on_sqlite(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's reads share the engine's connections")
    with pytest.raises(OperationalError, match="readonly"):
        async with db.read() as reading:
            await reading.execute(
                insert(UnreachableChat).values(chat_id=7, reason="blocked", since=now())
            )
    async with db.read() as reading:
        assert await _unreachable(reading, 7) is None


async def test_each_read_runs_on_its_own_without_a_transaction_around_it(db: Database) -> None:
    """No BEGIN before a screen's reads and no ROLLBACK after them: on PostgreSQL each
    statement of a read session is its own transaction (autocommit), as on SQLite. In one
    transaction, now() would stay at the transaction's start."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite's reads send no BEGIN (tested above)")

    async def two_nows(session: Reads) -> tuple[object, object]:
        first = await session.scalar(text("SELECT now()"))
        await asyncio.sleep(0.05)
        return first, await session.scalar(text("SELECT now()"))

    async with db.read() as reading:
        first, second = await two_nows(reading)
    assert first != second
    async with db.transaction() as session:  # the writer's sessions are transactions
        first, second = await two_nows(session)
    assert first == second
