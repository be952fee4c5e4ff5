"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is taken from TEST_POSTGRES_URL (default: the local server the README and CI
use). Where it is unreachable the PostgreSQL half is skipped with the reason, except in
CI (CI=true), where it fails: a suite that silently ran on one database proves nothing.
Run one half alone with ``--db sqlite`` or ``--db postgres``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db import Database, create_engine, upgrade_schema
from models import AccountKind, Base, LedgerAccount

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ("sqlite", "postgres")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("all", *BACKENDS),
        default=os.environ.get("TEST_DB", "all"),
        help="which database backends to run the database tests on",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = config.getoption("--db")
    if chosen == "all":
        return
    keep, drop = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        (drop if backend not in (None, chosen) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def _migrate() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await upgrade_schema(engine)
        await engine.dispose()

    asyncio.run(_migrate())
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A private schema in the test database, migrated to head once."""
    schema = f"test_{uuid.uuid4().hex[:12]}"

    async def _create() -> None:
        admin = create_async_engine(PG_URL)
        try:
            async with admin.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        finally:
            await admin.dispose()
        engine = _pg_engine(schema)
        await upgrade_schema(engine)
        await engine.dispose()

    try:
        asyncio.run(_create())
    except (OSError, ConnectionError) as exc:
        message = f"PostgreSQL unreachable at {PG_URL}: {exc}"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message + " (set TEST_POSTGRES_URL, or run with --db sqlite)")
    yield schema

    async def _drop() -> None:
        admin = create_async_engine(PG_URL)
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()

    asyncio.run(_drop())


def _pg_engine(schema: str):  # type: ignore[no-untyped-def]
    return create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})


async def _reset_postgres(db: Database) -> None:
    """Empty every table but keep the system accounts the migration seeded."""
    async with db.transaction() as session:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == LedgerAccount.__tablename__:
                await session.execute(
                    delete(LedgerAccount).where(LedgerAccount.kind == AccountKind.RESELLER)
                )
                await session.execute(update(LedgerAccount).values(balance=0, held=0))
            else:
                await session.execute(delete(table))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database of the chosen backend, as a URL."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "bot.db"
        shutil.copy(template, path)
        return f"sqlite+aiosqlite:///{path}"
    schema: str = request.getfixturevalue("postgres_schema")
    return f"{PG_URL}#schema={schema}"


def database_from_url(url: str) -> Database:
    if "#schema=" in url:
        _, schema = url.split("#schema=")
        return Database(_pg_engine(schema))
    return Database.from_url(url)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = database_from_url(database_url)
    if "#schema=" in database_url:
        await _reset_postgres(database)
    yield database
    await database.dispose()
