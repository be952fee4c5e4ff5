"""One job runner among several instances on PostgreSQL.

Every instance handles the updates it receives; the scheduled jobs and the outbox sender
run only in the *leader*. The leader is whoever holds a PostgreSQL session-level advisory
lock (``pg_try_advisory_lock``) on a connection kept for that alone. The lock lives as
long as that session: when the leader's process dies, however it dies, the server ends
the session and frees the lock, and a standby, trying again every few seconds, takes it.

The lock key is derived from the database and the schema the bot works in (or set with
``LEADER_LOCK_KEY``), so two bots on different schemas of one server never wait on each
other. With SQLite there is one instance (``bot/instance.py``), always the leader.

The lock connection asks the server to probe it with TCP keepalives, so a leader cut off
from the network loses the lock within seconds rather than hours; the leader itself
checks the connection at every beat and steps down at once when it fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import metrics
from bot.db import advisory_key

log = logging.getLogger(__name__)

RETRY_SECONDS = 2.5  # how often a standby tries the lock, and the leader checks its hold
BEAT_TIMEOUT_SECONDS = 3.0  # a beat that takes longer counts as a lost connection
# Server-side keepalives on the lock's connection: a client gone silent is found dead
# after about idle + interval * count seconds, and its lock released.
KEEPALIVE = {"tcp_keepalives_idle": 5, "tcp_keepalives_interval": 2, "tcp_keepalives_count": 2}

LEADER, STANDBY = "leader", "standby"


class Leadership(Protocol):
    """Whether this instance runs the jobs now."""

    @property
    def is_leader(self) -> bool: ...

    @property
    def role(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def lock_key(database: str, schema: str) -> int:
    """The advisory lock key of the bot's jobs in one database and schema."""
    return advisory_key("jobs", database, schema)


class SoleInstance:
    """SQLite: one instance per database (``bot/instance.py``), so it always leads."""

    is_leader = True
    role = LEADER

    async def start(self) -> None:
        metrics.leadership(LEADER)

    async def stop(self) -> None:
        return None


class AdvisoryLockElection:
    """Holds, or keeps trying for, the jobs' advisory lock on a dedicated connection."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        key: int | None = None,
        retry_seconds: float = RETRY_SECONDS,
        on_elected: Callable[[], None] | None = None,
    ) -> None:
        self.engine = engine
        self.retry_seconds = retry_seconds
        self.on_elected = on_elected
        self._fixed_key = key
        self.key: int | None = key
        self._conn: AsyncConnection | None = None
        self._leading = False
        self._task: asyncio.Task[None] | None = None
        self.backend_pid: int | None = None  # the lock connection's server process

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def role(self) -> str:
        return LEADER if self._leading else STANDBY

    async def start(self) -> None:
        metrics.leadership(STANDBY)
        await self.beat()  # the first attempt before start-up goes on, so a lone bot leads
        self._task = asyncio.create_task(self._run(), name="leader-election")

    async def stop(self) -> None:
        """Stop trying, and give the lock up at once so a standby takes over."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._leading and self._conn is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(BEAT_TIMEOUT_SECONDS):
                    await self._conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": self.key}
                    )
        await self._drop_connection()
        self._set(False, "stopping")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            await self.beat()

    async def beat(self) -> None:
        """One round: check the lock still held, or try to take it."""
        try:
            async with asyncio.timeout(BEAT_TIMEOUT_SECONDS):
                conn = await self._connection()
                if self._leading:
                    await conn.execute(text("SELECT 1"))
                    return
                taken = await conn.scalar(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
                )
        except Exception as exc:  # the connection is gone, or the server is down
            was_leading = self._leading
            await self._drop_connection()
            if was_leading:
                self._set(False, f"lost the database connection ({type(exc).__name__})")
            else:
                log.debug("leader election: cannot reach the database: %s", exc)
            return
        if taken:
            self._set(True, "took the jobs' lock")

    async def _connection(self) -> AsyncConnection:
        if self._conn is not None:
            return self._conn
        conn = await self.engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            for name, value in KEEPALIVE.items():
                # A setting of the session, allowed to any user; ignored over a Unix socket.
                await conn.execute(text(f"SET {name} = {int(value)}"))
            row = (
                await conn.execute(
                    text("SELECT current_database(), current_schema(), pg_backend_pid()")
                )
            ).one()
        except BaseException:
            await conn.close()
            raise
        if self._fixed_key is None:
            self.key = lock_key(row[0], row[1] or "")
        self.backend_pid = int(row[2])
        self._conn = conn
        return conn

    async def _drop_connection(self) -> None:
        """Close the lock's connection for good (never back to the pool: it may be
        broken, or its session may still hold the lock)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        with contextlib.suppress(Exception):
            await conn.invalidate()
            await conn.close()

    def _set(self, leading: bool, reason: str) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        role = LEADER if leading else STANDBY
        metrics.leadership(role)
        if leading:
            log.info("this instance now runs the jobs (leader): %s", reason)
            if self.on_elected is not None:
                self.on_elected()
        else:
            log.warning("this instance no longer runs the jobs (standby): %s", reason)
