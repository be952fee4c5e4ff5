"""Staff admins: people the owners let run part of the business from chat."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class StaffAdmin(Base):
    """One staff admin and what they may do (owners are ADMIN_IDS, not rows here)."""

    __tablename__ = "staff_admins"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(128))
    # Permission codes, comma-separated and sorted (see bot.services.roles.Permission).
    permissions: Mapped[str] = mapped_column(String(255), default="")
    added_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
