from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    false,
    true,
)
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
        CheckConstraint("downline_depth >= 0 AND downline_depth <= 5", name="downline_depth"),
        CheckConstraint(
            "transfer_daily_limit IS NULL OR transfer_daily_limit > 0", name="transfer_limit"
        ),
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
    # How many levels of sub-resellers it may have below it (0: none), set by an admin.
    downline_depth: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    transfers_allowed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Hundredths of a credit it may send to other resellers per local day; NULL: no limit.
    transfer_daily_limit: Mapped[int | None] = mapped_column(BigInteger)
    # What it pays for a plan; NULL: the plans' base prices. ``use_alter``: price lists
    # may be owned by a reseller, so the two tables refer to each other.
    price_list_id: Mapped[int | None] = mapped_column(ForeignKey("price_lists.id", use_alter=True))
    # Days a year each of its customers may pause their subscription (0: no pausing).
    max_pause_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Its customers may pay their own renewal in Stars (at the prices in self_pay_prices).
    self_pay_enabled: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
