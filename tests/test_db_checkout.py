"""PostgreSQL's pooled connections checked on checkout without a round trip each time:
one the server ended is replaced before use, one used lately is not pinged again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

from bot import db as db_module
from bot.db import Database
from tests.conftest import PG_URL, database_from_url


@pytest.fixture
async def pg(postgres_schema: str) -> AsyncIterator[Database]:
    database = database_from_url(f"{PG_URL}#schema={postgres_schema}")
    yield database
    await database.dispose()


@pytest.fixture
def pings(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    made: list[object] = []
    real = AsyncAdapt_asyncpg_connection.ping

    def counted(self: AsyncAdapt_asyncpg_connection) -> None:
        made.append(self)
        real(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counted)
    return made


async def _pid_of_read(database: Database) -> int:
    async with database.read() as connection:
        return int((await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _pid_of_transaction(database: Database) -> int:
    async with database.transaction() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_a_connection_used_lately_is_taken_without_a_ping(
    pg: Database, pings: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        await _pid_of_read(pg)
        await _pid_of_transaction(pg)
    assert pings == []  # reused within seconds: the driver's own state is enough

    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)
    await _pid_of_read(pg)
    await _pid_of_transaction(pg)
    assert len(pings) == 2  # idle past the limit: pinged before use


async def test_connections_the_server_ended_are_replaced_before_use(
    pg: Database, postgres_schema: str
) -> None:
    """A server restart or an administrator ends the pool's connections between two
    updates: the next read and the next transaction work, on new connections."""
    read_pid = await _pid_of_read(pg)
    write_pid = await _pid_of_transaction(pg)
    other = database_from_url(f"{PG_URL}#schema={postgres_schema}")
    try:
        async with other.transaction() as session:
            for pid in {read_pid, write_pid}:
                await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()
    await asyncio.sleep(0.2)  # the server's goodbye reaches the driver

    assert await _pid_of_read(pg) not in {read_pid, write_pid}
    assert await _pid_of_transaction(pg) not in {read_pid, write_pid}
