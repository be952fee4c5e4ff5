"""What the scheduled jobs remember: the outbox, unreachable chats, alert states."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up: a permanent error, or too many attempts
    DROPPED = "dropped"  # the chat blocked the bot


class OutboxMessage(Base):
    """A message a job wants sent. The unique key makes writing it twice queue it once."""

    __tablename__ = "outbox"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'sent', 'failed', 'dropped')", name="status"),
        Index("ix_outbox_status_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(191), unique=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # What to say, rendered at send time by the notifier: a kind and its plain values.
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The announcement this is one copy of (its progress counts these rows).
    announcement_id: Mapped[int | None] = mapped_column(index=True)


class UnreachableChat(Base):
    """A chat that blocked the bot (403): nothing more is written to it."""

    __tablename__ = "unreachable_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    reason: Mapped[str] = mapped_column(String(255))
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResellerAlertState(Base):
    """Per reseller: which alerts are armed, and when the last digest went out."""

    __tablename__ = "reseller_alert_state"

    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"), primary_key=True)
    # True from the alert until the balance is back above the threshold: one alert per dip.
    low_balance: Mapped[bool] = mapped_column(default=False)
    low_balance_alerts: Mapped[int] = mapped_column(default=0)
    debt_warning: Mapped[bool] = mapped_column(default=False)
    debt_limit: Mapped[bool] = mapped_column(default=False)
    debt_alerts: Mapped[int] = mapped_column(default=0)
    last_digest_date: Mapped[dt.date | None] = mapped_column(Date)
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
