"""Session-level advisory locks of many keys, all on one PostgreSQL connection of their
own, outside the engine's pool (why: see ``bot/user_guard.py``).

The connection is opened through the engine (its search path and settings), and then
spoken to through asyncpg directly: these statements run around every update, and
SQLAlchemy's own work on a statement costs several times the driver's."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import advisory_key

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_PAUSE_SECONDS = 0.01  # before trying again a lock another instance holds
LONGEST_PAUSE_SECONDS = 0.2
_TRY_LOCK = "SELECT pg_try_advisory_lock($1)"
_UNLOCK = "SELECT pg_advisory_unlock($1)"
# SQLSTATE classes of a connection that is gone: connection exceptions, and the server
# shutting down or terminating it.
_GONE = ("08", "57P")


class AdvisoryLocks:
    """Session-level advisory locks, all on one connection detached from the pool."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._conn: AsyncConnection | None = None  # held open: the session of the locks
        self._raw: asyncpg.Connection | None = None  # the same connection, asyncpg's
        self._scope: tuple[str, str] | None = None  # the database and the schema
        self._io = asyncio.Lock()  # one statement at a time on the connection
        self._failed_at = float("-inf")  # when opening the connection last failed
        self._releasing: set[asyncio.Task[Any]] = set()
        # One session holds every lock of this instance, and a session may take a lock
        # it holds again: within the instance a key is held in turn here (the update
        # processor already orders updates; this orders a timeout with them).
        self._local: dict[int, tuple[asyncio.Lock, int]] = {}
        self.taken = 0  # locks taken so far, for the tests and the curious
        self.waits = 0  # tries that found the lock held elsewhere

    async def key_of(self, ordering: int) -> int:
        """The lock key of an ordering key in this database and schema."""
        if self._scope is None:
            await self._query(lambda conn: conn.fetchval("SELECT 1"))
        assert self._scope is not None
        return advisory_key(f"user:{ordering}", *self._scope)

    @contextlib.asynccontextmanager
    async def holding(self, key: int) -> AsyncIterator[None]:
        """Hold the lock of ``key`` for the block, waiting while another holds it."""
        lock, users = self._local.get(key) or (asyncio.Lock(), 0)
        self._local[key] = (lock, users + 1)
        try:
            async with lock:
                conn = await self._take(key)
                try:
                    yield
                finally:
                    await self._give_up(key, conn)
        finally:
            lock, users = self._local[key]
            if users == 1:
                del self._local[key]
            else:
                self._local[key] = (lock, users - 1)

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``work`` (short reads) on the lock connection, between the lock queries."""
        task = asyncio.create_task(self._query(work))
        # Once sent, a statement runs to its end even if the update is cancelled: one
        # cut off midway would leave the connection, and every lock on it, unusable.
        return await asyncio.shield(task)

    async def _take(self, key: int) -> asyncpg.Connection:
        pause = FIRST_PAUSE_SECONDS
        while True:
            task = asyncio.create_task(self._query(lambda conn: self._try(conn, key)))
            try:
                conn = await asyncio.shield(task)
            except asyncio.CancelledError:
                task.add_done_callback(lambda done: self._undo(done, key))
                raise
            if conn is not None:
                self.taken += 1
                return conn
            self.waits += 1
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE_SECONDS)

    @staticmethod
    async def _try(conn: asyncpg.Connection, key: int) -> asyncpg.Connection | None:
        taken = await conn.fetchval(_TRY_LOCK, key)
        return conn if taken else None

    def _undo(self, done: asyncio.Task[asyncpg.Connection | None], key: int) -> None:
        """A lock taken for an update cancelled meanwhile: give it up."""
        if done.cancelled() or done.exception() is not None:
            return
        conn = done.result()
        if conn is not None:
            task = asyncio.create_task(self._unlock(key, conn))
            self._releasing.add(task)
            task.add_done_callback(self._releasing.discard)

    async def _give_up(self, key: int, conn: asyncpg.Connection) -> None:
        task = asyncio.create_task(self._unlock(key, conn))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)
        await asyncio.shield(task)  # a cancelled update still frees its lock

    async def _unlock(self, key: int, conn: asyncpg.Connection) -> None:
        async with self._io:
            if conn is not self._raw:
                return  # that session is gone, and its locks with it
            try:
                await conn.fetchval(_UNLOCK, key)
            except Exception as exc:
                # Closing the session frees every lock it holds; the next update
                # opens another.
                log.warning("user lock: cannot release, dropping its connection: %s", exc)
                await self._drop()

    async def _query(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """Run ``work`` on the lock connection; a lost connection is replaced once."""
        asked = time.monotonic()
        async with self._io:
            for attempt in (1, 2):
                if self._conn is None and self._failed_at > asked:
                    # Opening one failed while this query waited its turn: fail now, or
                    # every waiting update would wait out a connect timeout in turn.
                    raise ConnectionError("the user locks' connection cannot be opened")
                conn = await self._connection()
                try:
                    return await work(conn)
                except Exception as exc:
                    if not _lost(conn, exc):
                        raise  # autocommit: nothing is left aborted, the session goes on
                    await self._drop()
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

    async def _connection(self) -> asyncpg.Connection:
        if self._raw is not None:
            return self._raw
        try:
            conn = await self.engine.connect()
        except BaseException:
            self._failed_at = time.monotonic()
            raise
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await conn.execute(text("SELECT current_database(), current_schema()"))).one()
            raw = cast("asyncpg.Connection", (await conn.get_raw_connection()).driver_connection)
            # Out of the pool's count: the updates' transactions keep every pooled one.
            conn.sync_connection.detach()  # type: ignore[union-attr]
        except BaseException:
            await conn.close()
            raise
        self._scope = (str(row[0]), str(row[1] or ""))
        self._conn, self._raw = conn, raw
        return raw

    async def _drop(self) -> None:
        conn, self._conn, self._raw = self._conn, None, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
                await conn.close()

    async def close(self) -> None:
        """Give every lock up (closing the session frees them) once releases are done."""
        if self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)
        async with self._io:
            conn, self._conn, self._raw = self._conn, None, None
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()


def _lost(conn: asyncpg.Connection, exc: Exception) -> bool:
    """Whether the connection is gone (and the locks of its session with it)."""
    import asyncpg  # only on PostgreSQL: SQLite's bot never loads it (about 3 MB)

    if isinstance(exc, asyncpg.PostgresError):
        return str(exc.sqlstate or "").startswith(_GONE)
    return conn.is_closed() or isinstance(exc, OSError | asyncpg.InterfaceError)
