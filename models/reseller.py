from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Billing(StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class ResellerStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Reseller(Base):
    """A Telegram user registered by an admin to sell subscriptions.

    Its credit (balance, holds, collection limit) lives on its ``LedgerAccount``.
    """

    __tablename__ = "resellers"
    __table_args__ = (
        CheckConstraint("billing IN ('prepaid', 'postpaid')", name="billing"),
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("low_balance_threshold >= 0", name="threshold_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    name: Mapped[str] = mapped_column(String(100))
    username: Mapped[str | None] = mapped_column(String(64))
    billing: Mapped[str] = mapped_column(String(16), default=Billing.PREPAID)
    # Hundredths of a credit.
    low_balance_threshold: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default=ResellerStatus.ACTIVE)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
