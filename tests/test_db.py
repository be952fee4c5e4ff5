"""The embedded SQLite set-up: WAL, busy timeout, writers that queue instead of failing."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.db import SQLITE_READERS, Database, upgrade_schema


async def test_sqlite_uses_wal_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'nested' / 'bot.db'}")
    try:
        async with db.transaction() as session:
            assert (await session.execute(text("PRAGMA journal_mode"))).scalar() == "wal"
            assert (await session.execute(text("PRAGMA busy_timeout"))).scalar() == 30_000
            assert (await session.execute(text("PRAGMA foreign_keys"))).scalar() == 1
    finally:
        await db.dispose()
    assert (tmp_path / "nested" / "bot.db").exists()  # the folder was created


async def test_sqlite_writers_queue_instead_of_failing(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_schema(db.engine)
    order: list[str] = []
    first_inside = asyncio.Event()

    async def first() -> None:
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))  # BEGIN IMMEDIATE has taken the lock
            first_inside.set()
            await asyncio.sleep(0.3)
            order.append("first commits")

    async def second() -> None:
        await first_inside.wait()
        async with db.transaction() as session:
            await session.execute(text("SELECT 1"))
            # Reaching here means this BEGIN IMMEDIATE waited for the first writer.
            order.append("second begins")
            await session.execute(text("UPDATE ledger_accounts SET held = held"))

    try:
        await asyncio.gather(first(), second())
    finally:
        await db.dispose()
    assert order == ["first commits", "second begins"]


async def test_migrations_run_twice_without_change(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        await upgrade_schema(db.engine)
        await upgrade_schema(db.engine)
        async with db.transaction() as session:
            codes = (await session.execute(text("SELECT code FROM ledger_accounts"))).scalars()
            assert sorted(codes) == ["cash", "expired", "issuance", "sales"]
    finally:
        await db.dispose()


async def test_reads_of_a_sqlite_file_run_on_the_event_loops_thread(tmp_path: Path) -> None:
    """No hand-off to a driver thread: the statement runs where the read was awaited."""
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_schema(db.engine)
    try:
        async with db.read() as connection:
            raw = await connection.get_raw_connection()
            sqlite = raw.driver_connection._connection  # type: ignore[union-attr]
            sqlite.create_function("thread_id", 0, threading.get_ident)
            ran_on = (await connection.execute(text("SELECT thread_id()"))).scalar()
            busy_timeout = (await connection.execute(text("PRAGMA busy_timeout"))).scalar()
            query_only = (await connection.execute(text("PRAGMA query_only"))).scalar()
    finally:
        await db.dispose()
    assert ran_on == threading.get_ident()
    assert busy_timeout == 1_000  # a lock held elsewhere stalls the loop a second at most
    assert query_only == 1


async def test_a_failed_read_on_the_loop_raises_and_leaves_reads_working(
    tmp_path: Path,
) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_schema(db.engine)
    try:
        with pytest.raises(OperationalError, match="no such table"):
            async with db.read() as connection:
                await connection.execute(text("SELECT * FROM no_such_table"))
        async with db.read() as connection:
            assert (await connection.execute(text("SELECT count(*) FROM resellers"))).scalar() == 0
    finally:
        await db.dispose()


async def test_disposing_closes_the_read_connections(tmp_path: Path) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_schema(db.engine)
    async with db.read() as connection:
        raw = await connection.get_raw_connection()
        sqlite = raw.driver_connection._connection  # type: ignore[union-attr]
        await connection.execute(text("SELECT 1"))
    await db.dispose()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        sqlite.execute("SELECT 1")


async def test_a_long_read_is_finished_off_the_event_loop(tmp_path: Path) -> None:
    """A read whose cost grew with the data (the count of an account's whole history)
    would hold every other update while it ran: past a few milliseconds of work on the
    loop it is run again on a worker thread. Short reads stay on the loop."""
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_schema(db.engine)
    long_read = text(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300000)"
        " SELECT count(*), thread_id() FROM n"
    )
    try:
        async with db.read() as connection:
            raw = await connection.get_raw_connection()
            sqlite = raw.driver_connection._connection  # type: ignore[union-attr]
            sqlite.create_function("thread_id", 0, threading.get_ident)
            count, long_ran_on = (await connection.execute(long_read)).one()
            short_ran_on = (await connection.execute(text("SELECT thread_id()"))).scalar()
            with pytest.raises(OperationalError, match="no such table"):
                await connection.execute(text("SELECT * FROM no_such_table"))
            rows = (await connection.execute(text("SELECT 1 UNION ALL SELECT 2"))).all()
    finally:
        await db.dispose()
    assert count == 300_000
    assert long_ran_on != threading.get_ident()
    assert short_ran_on == threading.get_ident()
    assert [tuple(row) for row in rows] == [(1,), (2,)]


async def test_sqlalchemys_isolation_level_and_a_closed_connection_on_the_loops_reads(
    tmp_path: Path,
) -> None:
    """What SQLAlchemy's aiosqlite adapter asks of a driver connection works on the
    loop's: an isolation level set for a read (as pg_locks sets one on PostgreSQL),
    and a connection closed under a read is reported as SQLAlchemy's error, which
    invalidates it, not as a bare ValueError."""
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_schema(db.engine)
    try:
        async with db.read() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            assert (await autocommit.execute(text("SELECT 1"))).scalar() == 1
        async with db.read() as connection:
            serial = await connection.execution_options(isolation_level="SERIALIZABLE")
            assert (await serial.execute(text("SELECT count(*) FROM resellers"))).scalar() == 0
        async with db.read() as connection:
            raw = await connection.get_raw_connection()
            raw.driver_connection.stop()  # type: ignore[union-attr]
            with pytest.raises(DBAPIError) as failed:
                await connection.execute(text("SELECT 1"))
            assert failed.value.connection_invalidated
        async with db.read() as connection:
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await db.dispose()


async def test_a_long_read_cancelled_off_the_loop_is_stopped_there(tmp_path: Path) -> None:
    """An update cancelled while its read runs on a worker thread: the statement is
    interrupted before the connection goes back to the pool, which the next read then
    takes at once, and the interruption is not reported as an error left unseen."""
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    await upgrade_schema(db.engine)
    loop = asyncio.get_running_loop()
    unseen: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: unseen.append(context))
    moved = asyncio.Event()
    loop_thread = threading.get_ident()

    def mark(_x: int) -> int:
        if threading.get_ident() != loop_thread:
            loop.call_soon_threadsafe(moved.set)
        return 1

    endless = text(
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)"
        " SELECT count(*) FROM n WHERE mark(x)"
    )

    async def read() -> None:
        async with db.read() as connection:
            raw = await connection.get_raw_connection()
            sqlite = raw.driver_connection._connection  # type: ignore[union-attr]
            sqlite.create_function("mark", 1, mark)
            await connection.execute(endless)

    try:
        task = asyncio.create_task(read())
        await moved.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        for _ in range(SQLITE_READERS + 1):  # the cancelled read's connection among them
            async with db.read() as connection:
                assert (await connection.execute(text("SELECT 1"))).scalar() == 1
        gc.collect()
        await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(None)
        await db.dispose()
    assert unseen == []
