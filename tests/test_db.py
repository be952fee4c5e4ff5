"""The embedded SQLite set-up: WAL, busy timeout, writers that queue instead of failing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text

from bot.db import Database, upgrade_schema


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
