"""What a reseller's customers pay in Stars to renew themselves, per plan, and their
Stars subscriptions (a renewal every 30 days)."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
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


class SubscriptionState(StrEnum):
    PENDING = "pending"  # the link was made, not paid yet
    ACTIVE = "active"  # Telegram charges each period; each charge renews once
    CANCELLED = "cancelled"  # the customer stopped it: Telegram charges no more


class StarSubscription(Base):
    """A customer's Stars subscription: Telegram charges ``stars`` every 30 days and each
    charge (a ``star_payments`` row of its own) renews the customer's plan once."""

    __tablename__ = "star_subscriptions"
    __table_args__ = (
        CheckConstraint("stars > 0", name="stars_positive"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("state IN ('pending', 'active', 'cancelled')", name="state"),
        Index("ix_star_subscriptions_customer_state", "customer_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    method_id: Mapped[int] = mapped_column(ForeignKey("payment_methods.id"))
    stars: Mapped[int] = mapped_column(BigInteger)
    rate: Mapped[int] = mapped_column(BigInteger)  # hundredths of a credit per Star
    payload: Mapped[str] = mapped_column(String(128), unique=True)
    payer_telegram_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(16), default=SubscriptionState.PENDING)
    # The first charge's id: what editUserStarSubscription names the subscription by.
    first_charge_id: Mapped[str | None] = mapped_column(String(255))
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the period paid
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
