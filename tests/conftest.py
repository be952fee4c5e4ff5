"""Fixtures: every database test runs on SQLite and on PostgreSQL.

PostgreSQL is taken from TEST_POSTGRES_URL (default: the local server the README and CI
use). Where it is unreachable the PostgreSQL half is skipped with the reason, except in
CI (CI=true), where it fails: a suite that silently ran on one database proves nothing.
Run one half alone with ``--db sqlite`` or ``--db postgres``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.app import build_application
from bot.context import BotApplication
from bot.db import Database, create_engine, upgrade_schema
from bot.services.provisioning import Provider
from bot.settings import Settings
from models import AccountKind, Base, LedgerAccount, Reseller
from tests.fake_bot_api import FakeBotAPI

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
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
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


def _pg_engine(schema: str) -> AsyncEngine:
    return create_engine(PG_URL, connect_args={"server_settings": {"search_path": schema}})


async def _reset_postgres(db: Database) -> None:
    """Empty every table but keep the system accounts the migration seeded."""
    async with db.transaction() as session:
        # Resellers and price lists refer to each other: break the cycle first.
        await session.execute(update(Reseller).values(price_list_id=None))
        for table in reversed(Base.metadata.sorted_tables):
            if table.name == LedgerAccount.__tablename__:
                await session.execute(
                    delete(LedgerAccount).where(LedgerAccount.kind == AccountKind.RESELLER)
                )
                await session.execute(update(LedgerAccount).values(balance=0, held=0))
            else:
                await session.execute(delete(table))
        # Ids start again from 1 (after the system accounts), as in a fresh database.
        for table in Base.metadata.sorted_tables:
            if "id" not in table.c:
                continue
            await session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )


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


def database_from_url(url: str, *, schema: str | None = None) -> Database:
    """Like ``Database.from_url``, for the URLs the fixtures make (``#schema=``)."""
    if schema is not None:
        return Database.from_url(url, schema=schema)
    if "#schema=" in url:
        _, schema = url.split("#schema=")
        return Database(_pg_engine(schema))
    return Database(create_engine(url))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = database_from_url(database_url)
    if "#schema=" in database_url:
        await _reset_postgres(database)
    yield database
    await database.dispose()


# --- the bot against the fake Bot API ------------------------------------------------

ADMIN_ID = 900
OTHER_ADMIN_ID = 901
ADMIN_CHAT_ID = -100_1234


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    api = FakeBotAPI()
    await api.start()
    api.group(ADMIN_CHAT_ID, "Admins")
    yield api
    await api.stop()


@pytest.fixture
def settings(fake_api: FakeBotAPI, database_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(fake_api.token),
        telegram_api_base_url=fake_api.url,
        database_url=database_url,
        admin_ids=frozenset({ADMIN_ID, OTHER_ADMIN_ID}),
        admin_chat_id=ADMIN_CHAT_ID,
        currency="credits",
        timezone="UTC",
        # Journeys drive the jobs themselves, at simulated times (see test_jobs.py).
        jobs_enabled=False,
    )


@asynccontextmanager
async def running_bot(
    settings: Settings, db: Database, provider: Provider | None = None
) -> AsyncIterator[BotApplication]:
    """The real application polling the fake Bot API, started as run_polling starts it."""
    app = build_application(settings, db, provider)
    await app.initialize()
    assert app.post_init is not None
    await app.post_init(app)
    assert app.updater is not None
    # A short long-poll keeps shutdown quick; replies still arrive as soon as they exist.
    await app.updater.start_polling(poll_interval=0, timeout=dt.timedelta(seconds=0.25))
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        assert app.post_stop is not None
        await app.post_stop(app)  # as run_polling does: the jobs' lock is given up
        await app.shutdown()


@pytest.fixture
async def bot(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> AsyncIterator[BotApplication]:
    async with running_bot(settings, db) as app:
        yield app
