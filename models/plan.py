from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Plan(Base):
    """A package resellers sell: so many days for so many credits."""

    __tablename__ = "plans"
    __table_args__ = (
        CheckConstraint("days > 0", name="days_positive"),
        CheckConstraint("price > 0", name="price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    days: Mapped[int]
    # Hundredths of a credit.
    price: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(default=True)
    # Where resellers see it in their plan lists: lowest first, then by id.
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    # Where the plan provisions: NULL is the local provider (this database is the record).
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id"))
    # Panel-specific placement as JSON (inbounds, groups, squads, package and bouquets).
    template: Mapped[str | None] = mapped_column(Text)
    data_limit_bytes: Mapped[int | None] = mapped_column(BigInteger)  # NULL: unlimited
    reset_traffic_on_renewal: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
