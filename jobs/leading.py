"""The jobs run in one instance: the leader (``bot/leader.py``).

Every instance schedules the same jobs; each run first asks whether this instance leads
and does nothing if not. So a standby that becomes leader needs no rescheduling: its
jobs are told to run at once, to catch up on what the old leader left.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, cast

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import JobQueue

from bot.leader import AdvisoryLockElection, Leadership, SoleInstance
from bot.settings import Settings

P = ParamSpec("P")
log = logging.getLogger(__name__)


def leadership_for(
    engine: AsyncEngine, settings: Settings, queue: JobQueue[Any] | None = None
) -> Leadership:
    """An election on PostgreSQL; on SQLite the one instance always leads."""
    if engine.dialect.name != "postgresql":
        return SoleInstance()
    return AdvisoryLockElection(
        engine,
        key=settings.leader_lock_key,
        retry_seconds=settings.leader_retry_seconds,
        on_elected=(lambda: run_soon(queue)) if queue is not None else None,
    )


def led_by(
    leadership: Leadership, job: Callable[P, Awaitable[Any]]
) -> Callable[P, Coroutine[Any, Any, None]]:
    """Run ``job`` only while this instance leads (a standby's runs are skipped, uncounted)."""

    @functools.wraps(job)
    async def gated(*args: P.args, **kwargs: P.kwargs) -> None:
        if leadership.is_leader:
            await job(*args, **kwargs)

    return gated


def run_soon(queue: JobQueue[Any]) -> None:
    """Bring every job's next run to now: a new leader catches up at once."""
    if not queue.scheduler.running:  # still starting: the first runs are due soon anyway
        return
    now = dt.datetime.now(dt.UTC)
    for job in queue.jobs():
        try:
            cast(Any, job.job).modify(next_run_time=now)
        except LookupError:  # removed meanwhile
            continue
    log.info("the jobs run now, to catch up after the change of leader")
