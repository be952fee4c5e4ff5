"""What the scheduled jobs did and when (one row per job and period, written once), and
which scheduled reports the owners switched on or off."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class JobRun(Base):
    """A job's work for one period (a day's summary, a month's statements, a backup file).

    The unique (job, period) pair makes "done" a fact written once, so a restart or a
    second instance does not do the same period again.
    """

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "period", name="uq_job_runs_job_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(64))  # e.g. "report:daily", "backup:-100123"
    period: Mapped[str] = mapped_column(String(191))  # e.g. "2026-11-23", a backup's file
    done_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[str | None] = mapped_column(Text)  # JSON: what the run produced


class ReportSwitch(Base):
    """An owner's choice, from the bot, to send a scheduled report or show a summary's
    section, or not; it wins over the setting of the same name while it exists."""

    __tablename__ = "report_switches"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "daily", "sales", ...
    enabled: Mapped[bool] = mapped_column(Boolean)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(64))
