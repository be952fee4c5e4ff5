"""What admins and operators did, for the action log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class AdminAction(Base):
    """One admin action: who, when, what, on whom, with the values before and after."""

    __tablename__ = "admin_actions"
    __table_args__ = (
        Index("ix_admin_actions_reseller", "reseller_id", "id"),
        Index("ix_admin_actions_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "cli" for the operator's shell, "tg:<user id>" for an admin in chat.
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))  # e.g. "reseller_suspended"
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id"))
    reason: Mapped[str | None] = mapped_column(String(255))
    # Plain values as JSON: {"before": {...}, "after": {...}}.
    details: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
