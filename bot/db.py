"""Database engine, transactions and schema migrations."""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from alembic.config import Config

T = TypeVar("T")
log = logging.getLogger(__name__)
# What a function that only reads columns is given: a transaction's session, or the
# connection of Database.read().
Reads = AsyncSession | AsyncConnection

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# A read run on the event loop (bot/sqlite_reads.py) waits at most this long for a lock:
# in WAL mode readers take none but while a connection recovers the log after a crash.
SQLITE_READ_BUSY_TIMEOUT_MS = 1_000
READ_ONLY = "reseller_bot_read_only"


# Connections that answer Database.read() on a SQLite file, beside the one writer: in WAL
# mode readers never wait on the writer nor on each other. Their statements run on the
# event loop (bot/sqlite_reads.py), so one connection serves reads one after another;
# more are opened only while a read waits on something else midway (or a long one
# finishes on a worker thread).
SQLITE_READERS = 4


def create_engine(url: str, *, schema: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and immediate write transactions.

    ``schema`` (PostgreSQL) is the search_path of every connection: the tables, the
    migrations' version table and the jobs' leader lock are all of that schema."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if schema:
            kwargs["connect_args"] = {"server_settings": {"search_path": schema}}
        engine = create_async_engine(url, **kwargs)
        _check_on_checkout(engine)
        return engine
    # Every transaction begins immediately, so one at a time holds the file anyway.
    # One connection makes the others queue in order in the pool instead of polling
    # the lock in SQLite's busy handler, each on a thread of its own.
    return _sqlite_engine(url, connections=1)


# A pooled connection idle this long is pinged before use: a server restarted or a
# network that forgot the connection meanwhile fails the ping, not the request.
PING_AFTER_IDLE_SECONDS = 10.0


def _check_on_checkout(engine: AsyncEngine) -> None:
    """What ``pool_pre_ping`` is for, without its round trips on every checkout (three
    outside autocommit: BEGIN, the ping, ROLLBACK; most of what a screen's read costs):
    a connection the driver knows closed (the server ended it, the network reset it) is
    replaced at no cost, and only one idle for a while is pinged."""

    def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    event.listen(engine.sync_engine, "connect", _idle_from_now)  # made, or given back
    event.listen(engine.sync_engine, "checkin", _idle_from_now)

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise InvalidatePoolError("the connection was closed")  # so are its siblings
        idle_since = record.info.get("idle_since", float("-inf"))
        if time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise InvalidatePoolError(f"the ping failed: {exc}") from exc


def _on_a_file(url: URL) -> bool:
    database = url.database
    return bool(database) and database != ":memory:" and not str(database).startswith("file:")


def _sqlite_engine(url: str | URL, *, connections: int, read_only: bool = False) -> AsyncEngine:
    parsed = make_url(url)
    pool: dict[str, Any] = {}
    if _on_a_file(parsed):
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
        timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
        pool = {"pool_size": connections, "max_overflow": 0, "pool_timeout": timeout}
    busy_timeout_ms = SQLITE_BUSY_TIMEOUT_MS
    options: dict[str, Any] = {"connect_args": {"timeout": busy_timeout_ms / 1000}}
    if read_only:
        # The connections are in autocommit and never BEGIN: a rollback (after each
        # read, and when the pool takes one back) would be a call that does nothing.
        pool["skip_autocommit_rollback"] = True
        if _on_a_file(parsed):
            from bot import sqlite_reads  # sqlite3 only where SQLite is the database

            busy_timeout_ms = SQLITE_READ_BUSY_TIMEOUT_MS
            options = {
                "async_creator": sqlite_reads.creator(
                    str(parsed.database), busy_timeout_seconds=busy_timeout_ms / 1000
                )
            }
    engine = create_async_engine(parsed, **options, **pool)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection.isolation_level is not None:
            # Take transaction control away from the driver so we can BEGIN IMMEDIATE.
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")  # a write through read() fails loudly
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            return  # each SELECT on its own, as on PostgreSQL's READ COMMITTED
        # Take the write lock at BEGIN: concurrent writers wait on the busy timeout
        # instead of failing with "database is locked" when a read upgrades to a write.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _readers(engine: AsyncEngine) -> AsyncEngine:
    """The engine of Database.read(): SQLite files get a pool of read-only connections;
    elsewhere (PostgreSQL, in-memory SQLite) reads share the engine's pool."""
    if engine.dialect.name != "sqlite" or not _on_a_file(engine.url):
        return engine
    return _sqlite_engine(engine.url, connections=SQLITE_READERS, read_only=True)


class Database:
    """The engine and the unit of work: one transaction per service call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.read_engine = _readers(engine)
        self.sessionmaker = async_sessionmaker(engine, expire_on_commit=False)
        reads: dict[str, Any] = {READ_ONLY: True}
        if engine.dialect.name == "postgresql":
            # Each read on its own, as on SQLite: no BEGIN before and ROLLBACK after,
            # two round trips of every screen's reads.
            reads["isolation_level"] = "AUTOCOMMIT"
        self.reader = self.read_engine.execution_options(**reads)

    @classmethod
    def from_url(cls, url: str, *, schema: str | None = None) -> Database:
        return cls(create_engine(url, schema=schema))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        async with self.sessionmaker() as session, session.begin():
            yield session

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that answer one screen, run on every update: Core
        statements (columns, not ORM objects), as an ORM session's own work costs more
        than such a read.

        It takes no write lock and sends no BEGIN: each statement reads on its own (on
        PostgreSQL in autocommit), on SQLite on a connection of its own beside the
        writer's (on a file: connections that refuse writes, whose statements run on the
        event loop's thread, a long one finished on a worker thread). Never write
        through it; keep its reads short and indexed.
        """
        async with self.reader.connect() as connection:
            yield connection

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run ``work`` in one transaction, retrying once on a uniqueness race.

        Two concurrent calls with the same idempotency key both pass the "seen it?"
        check; the loser's insert violates the unique key and its whole transaction
        rolls back. The retry then finds the winner's row and returns its result.
        """
        try:
            async with self.transaction() as session:
                return await work(session)
        except IntegrityError:
            log.info("integrity error, retrying once to resolve a concurrent duplicate")
        async with self.transaction() as session:
            return await work(session)

    @property
    def engines(self) -> tuple[AsyncEngine, ...]:
        """Every engine this database talks through: the writer's, and the readers' if apart."""
        if self.read_engine is self.engine:
            return (self.engine,)
        return (self.engine, self.read_engine)

    async def dispose(self) -> None:
        for engine in self.engines:
            await engine.dispose()


def alembic_config() -> Config:
    from alembic.config import Config  # only when migrating: Alembic weighs about 12 MB

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def advisory_key(purpose: str, database: str, schema: str) -> int:
    """A signed 64-bit PostgreSQL advisory lock key for one purpose in one database and
    schema, so that bots in other schemas of the same server never wait on each other."""
    digest = hashlib.blake2b(f"reseller-bot:{purpose}:{database}:{schema}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


async def upgrade_schema(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` over the given engine.

    On PostgreSQL, instances starting together take turns (a transaction-level advisory
    lock): the first migrates, the others then find the schema at head."""

    def _upgrade(connection: Connection) -> None:
        if connection.dialect.name == "postgresql":
            names = connection.execute(text("SELECT current_database(), current_schema()")).one()
            key = advisory_key("migrations", names[0], names[1] or "")
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        if revision == "head" and _at_head(connection):
            return  # every start but the first after an upgrade: Alembic is not loaded
        from alembic import command

        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    if engine.dialect.name != "sqlite":
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
        return
    # A migration that changes a constraint on SQLite copies the table and drops the old
    # one, which the rows referring to it would forbid. As SQLite's documentation
    # advises, foreign keys are off meanwhile (it can only be switched outside a
    # transaction) and checked before the migration commits.
    async with engine.connect() as connection:
        await connection.run_sync(_foreign_keys, False)
        try:
            async with connection.begin():
                await connection.run_sync(_upgrade)
                await connection.run_sync(_check_foreign_keys)
        finally:
            await connection.run_sync(_foreign_keys, True)


def _foreign_keys(connection: Connection, on: bool) -> None:
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    cursor.close()


def _check_foreign_keys(connection: Connection) -> None:
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"a migration left rows referring to nothing: {broken[:5]}")


_REVISION = re.compile(r"^revision(?::[^=]*)?=\s*[\"']([^\"']+)[\"']", re.M)
_DOWN_REVISION = re.compile(r"^down_revision(?::[^=]*)?=(.*)$", re.M)


def head_revisions() -> frozenset[str] | None:
    """The newest migrations, read from the version files' ``revision`` and
    ``down_revision`` lines; None when a file does not read as expected (then Alembic,
    which knows, is asked)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("[!_]*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions.add(revision.group(1))
        parents.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = frozenset(revisions - parents)
    return heads or None


def _at_head(connection: Connection) -> bool:
    heads = head_revisions()
    if heads is None or not inspect(connection).has_table("alembic_version"):
        return False
    current = {
        row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))
    }
    return current == heads
