"""Announcements: a message an admin or a reseller sends to many chats at once.

Each recipient's copy is one outbox message (keyed by the announcement and the chat, so
nobody gets two) that points back here; the counts of a broadcast are those messages'
states, never a counter kept beside them.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class AnnouncementStatus(StrEnum):
    SCHEDULED = "scheduled"  # waits for its time; nothing queued yet
    SENDING = "sending"  # its copies are in the outbox
    DONE = "done"  # every copy went out or failed
    STOPPED = "stopped"  # its author stopped it; what had not gone out never will


class Announcement(Base):
    __tablename__ = "announcements"
    __table_args__ = (
        CheckConstraint("status IN ('scheduled', 'sending', 'done', 'stopped')", name="status"),
        CheckConstraint("audience IN ('customers', 'resellers')", name="audience"),
        Index("ix_announcements_status_scheduled", "status", "scheduled_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The nonce of the preview its author confirmed: a second tap finds this row.
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    author_telegram_id: Mapped[int] = mapped_column(BigInteger)
    # Set when a reseller wrote it: it reaches that reseller's own customers only.
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id"))
    audience: Mapped[str] = mapped_column(String(16))
    segment: Mapped[str] = mapped_column(String(16))
    segment_value: Mapped[str | None] = mapped_column(String(64))
    # The author's text as Telegram HTML; for a template, the value it fills in.
    text: Mapped[str] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(16))
    photo_file_id: Mapped[str | None] = mapped_column(String(255))
    button: Mapped[str | None] = mapped_column(String(8))  # "url" or "renew"
    button_label: Mapped[str | None] = mapped_column(String(64))
    button_url: Mapped[str | None] = mapped_column(String(512))
    # A service notice (maintenance, say) also reaches customers who opted out of promotions.
    service: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    queued_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recipients: Mapped[int] = mapped_column(default=0)
    # The author's message that shows the progress, edited in place.
    progress_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
