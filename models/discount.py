"""Discount codes: Stars taken off a top-up's or a customer renewal's invoice."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class DiscountTarget(StrEnum):
    TOPUP = "topup"  # a reseller's Stars top-up
    RENEWAL = "renewal"  # a customer's own renewal (single or subscription's first)


class DiscountCode(Base):
    """A code entered at the invoice: ``percent_off`` or ``stars_off`` (one of them), valid
    between two dates, up to ``max_uses`` paid uses overall and ``max_uses_per_user`` per
    payer, optionally only for one plan or one reseller (and its customers)."""

    __tablename__ = "discount_codes"
    __table_args__ = (
        CheckConstraint("target IN ('topup', 'renewal')", name="target"),
        CheckConstraint(
            "(percent_off IS NULL) <> (stars_off IS NULL)", name="one_kind_of_discount"
        ),
        CheckConstraint(
            "percent_off IS NULL OR (percent_off > 0 AND percent_off < 100)", name="percent_range"
        ),
        CheckConstraint("stars_off IS NULL OR stars_off > 0", name="stars_positive"),
        CheckConstraint("max_uses IS NULL OR max_uses > 0", name="max_uses_positive"),
        CheckConstraint(
            "max_uses_per_user IS NULL OR max_uses_per_user > 0", name="per_user_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # upper case
    target: Mapped[str] = mapped_column(String(16))
    percent_off: Mapped[int | None]
    stars_off: Mapped[int | None] = mapped_column(BigInteger)
    valid_from: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None]
    max_uses_per_user: Mapped[int | None]
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id"))
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
