"""What a reseller's customers pay in Stars to renew themselves, per plan."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class SelfPayPrice(Base):
    """A reseller's customer price, in whole Stars, for one plan (no row: not offered)."""

    __tablename__ = "self_pay_prices"
    __table_args__ = (
        CheckConstraint("stars > 0", name="stars_positive"),
        UniqueConstraint("reseller_id", "plan_id", name="uq_self_pay_prices_reseller_plan"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    stars: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
