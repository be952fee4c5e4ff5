"""Reads of a SQLite file run on the event loop's own thread.

aiosqlite runs every call on a thread of its own, and SQLAlchemy's adapter makes four
such calls a statement (open a cursor, execute, fetch, close): each a hand-off to that
thread and a wake-up of the loop, together several times the cost of the short indexed
read that answers a screen, which SQLite serves from its page cache in microseconds.
Database.read()'s connections (reads only, on a file in WAL mode, where a reader never
waits for the writer) therefore run their statements in the calling thread, behind the
same asynchronous driver interface, through SQLAlchemy's ``async_creator``.

A statement holds the event loop while it runs on it, so one that does more than a few
milliseconds' work (a read whose cost grew with the data, as the count of an account's
whole history) is stopped there and run again, from the start, on a worker thread:
reads have no effects, so running one twice changes nothing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any

# SQLite's virtual machine instructions a statement may run on the event loop, about
# two milliseconds' work; an indexed read answering a screen takes a few thousand.
LOOP_STEPS = 100_000


class LoopCursor:
    """An aiosqlite-shaped cursor over a sqlite3 cursor, run where it is called."""

    __slots__ = ("_cursor", "_owner", "_rows")

    def __init__(self, cursor: sqlite3.Cursor, owner: LoopConnection) -> None:
        self._cursor = cursor
        self._owner = owner
        # A statement's rows, all fetched as it runs: where it ran is decided by then.
        self._rows: deque[Any] = deque()

    def __await__(self) -> Generator[Any, None, LoopCursor]:
        # aiosqlite's ``connection.cursor()`` is awaited by some SQLAlchemy versions.
        return self._ready().__await__()

    async def _ready(self) -> LoopCursor:
        return self

    async def __aenter__(self) -> LoopCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        await self._owner.run(self._execute, sql, parameters)
        return self

    def _execute(self, sql: str, parameters: Any) -> None:
        self._rows.clear()
        self._cursor.execute(sql, parameters)
        if self._cursor.description is not None:
            self._rows.extend(self._cursor.fetchall())

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> LoopCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = min(self._cursor.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()
        self._cursor.close()


class _LoopSteps:
    """SQLite's progress handler of a connection: stops a statement run long on the loop."""

    __slots__ = ("on_loop", "stopped")

    def __init__(self) -> None:
        self.on_loop = True
        self.stopped = False  # the last statement on the loop was stopped here

    def past(self) -> bool:
        if self.on_loop:
            self.stopped = True
        return self.on_loop


class _RunAtOnce:
    """Where SQLAlchemy's adapter puts a change of isolation level: aiosqlite's queue of
    work for its thread (``_tx``), given a future and a function. Here it runs at once."""

    __slots__ = ()

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


class LoopConnection:
    """An aiosqlite-shaped connection over a sqlite3 connection, run where it is called."""

    _tx = _RunAtOnce()

    __slots__ = ("_connection", "_steps")

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection: sqlite3.Connection | None = connection
        # Apart from this object: the handler held by the sqlite3 connection would
        # otherwise hold it back, a cycle only the garbage collector breaks.
        self._steps = _LoopSteps()
        connection.set_progress_handler(self._steps.past, LOOP_STEPS)

    async def run(self, work: Callable[[str, Any], None], sql: str, parameters: Any) -> None:
        """``work`` on the loop, or on a worker thread once it has run long on the loop."""
        steps = self._steps
        steps.stopped = False
        try:
            work(sql, parameters)
            return
        except sqlite3.OperationalError:
            if not steps.stopped:
                raise
        steps.on_loop = False
        finished = asyncio.get_running_loop().run_in_executor(None, work, sql, parameters)
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            # The connection goes back to the pool: nothing may still run on it.
            self._open().interrupt()
            await asyncio.wait([finished])
            if not finished.cancelled():
                finished.exception()  # "interrupted": seen, not logged as left unseen
            raise
        finally:
            steps.on_loop = True

    def _open(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("Connection closed")  # as aiosqlite says it
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._open().isolation_level

    @property
    def _conn(self) -> sqlite3.Connection:
        """The sqlite3 connection, by aiosqlite's name (SQLAlchemy's adapter sets the
        isolation level on it through ``_tx``)."""
        return self._open()

    def cursor(self) -> LoopCursor:
        if self._connection is None:
            # Raised where SQLAlchemy does not translate a ValueError (aiosqlite's
            # fails later, when awaited): sqlite3's own, which it knows for a disconnect.
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return LoopCursor(self._connection.cursor(), self)

    async def execute(self, sql: str, parameters: Any = ()) -> LoopCursor:
        return await self.cursor().execute(sql, parameters)

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._open().create_function(*args, **kwargs)

    async def commit(self) -> None:
        self._open().commit()

    async def rollback(self) -> None:
        self._open().rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (what SQLAlchemy calls when it throws a connection away)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


def creator(path: str, *, busy_timeout_seconds: float) -> Any:
    """SQLAlchemy's ``async_creator`` for the reads of the SQLite file at ``path``."""

    async def connect() -> LoopConnection:
        # Autocommit (isolation_level None): a read never holds a transaction open.
        # Any thread may close it: the pool's clean-up can run elsewhere.
        connection = sqlite3.connect(
            path, timeout=busy_timeout_seconds, isolation_level=None, check_same_thread=False
        )
        return LoopConnection(connection)

    return connect
