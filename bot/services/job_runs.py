"""What the scheduled jobs did, per job and period: "done" is a row written once.

A job asks ``is_done`` before the work and calls ``record`` after it; the unique
(job, period) pair means two runs that race (a restart, a second instance) record it once.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import JobRun

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


@dataclass(frozen=True)
class Run:
    job: str
    period: str
    done_at: dt.datetime
    detail: dict[str, Any]


async def is_done(session: AsyncSession, job: str, period: str) -> bool:
    found = await session.scalar(select(exists().where(JobRun.job == job, JobRun.period == period)))
    return bool(found)


async def record(
    session: AsyncSession,
    job: str,
    period: str,
    now: dt.datetime,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Mark ``period`` of ``job`` done; False if it already was (nothing changes then)."""
    # Only the dialect in use is imported: PostgreSQL's would cost a bot on SQLite 2 MB.
    insert: Callable[[type[JobRun]], postgresql.Insert | sqlite.Insert]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    result = await session.execute(
        insert(JobRun)
        .values(
            job=job,
            period=period,
            done_at=now,
            detail=None if detail is None else json.dumps(detail, default=str),
        )
        .on_conflict_do_nothing(index_elements=["job", "period"])
        .returning(JobRun.id)
    )
    return result.first() is not None


async def last_done(session: AsyncSession, job: str) -> dt.datetime | None:
    """When ``job`` last did anything, or None if it never did."""
    return await session.scalar(select(func.max(JobRun.done_at)).where(JobRun.job == job))


async def runs(session: AsyncSession, job: str) -> list[Run]:
    """Every recorded run of ``job``, oldest first."""
    rows = await session.scalars(
        select(JobRun).where(JobRun.job == job).order_by(JobRun.done_at, JobRun.id)
    )
    return [
        Run(row.job, row.period, row.done_at, json.loads(row.detail) if row.detail else {})
        for row in rows
    ]
