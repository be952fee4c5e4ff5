"""Customers of resellers, and the orders that activate or renew them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class CustomerStatus(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    PAUSED = "paused"
    CANCELLED = "cancelled"


class OrderKind(StrEnum):
    ACTIVATION = "activation"
    RENEWAL = "renewal"


class OrderStatus(StrEnum):
    PENDING = "pending"  # credit held, provisioning under way
    COMPLETED = "completed"  # provisioned, hold posted
    FAILED = "failed"  # provisioning failed, hold voided


class ReminderChoice(StrEnum):
    """Which expiry reminders a customer gets: never fewer than one."""

    ALL = "all"  # every offset in REMINDER_OFFSETS_DAYS
    LAST = "last"  # only the last one before the expiry


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'expired', 'paused', 'cancelled')", name="status"),
        Index("ix_customers_reseller_expires", "reseller_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    # Lowercase, unique across the business: provisioning panels share one namespace.
    username: Mapped[str] = mapped_column(String(32), unique=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=CustomerStatus.ACTIVE)
    external_id: Mapped[str | None] = mapped_column(String(128))
    # What the provider returned to show the reseller (credentials, links), as JSON.
    provider_details: Mapped[str | None] = mapped_column(Text)
    # The invite token in https://t.me/<bot>?start=<token>; NULL once revoked.
    link_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A chat may be linked to several subscriptions (a family's), each through its link.
    chat_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    linked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set while the bot has the customer disabled on its panel because its reseller was
    # suspended, so reactivating resumes these and not users an admin disabled by hand.
    panel_suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the customer chose to be told: promotions can be turned off, expiry reminders
    # only down to the last one.
    promotions_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reminders: Mapped[str] = mapped_column(
        String(8), default=ReminderChoice.ALL, server_default=ReminderChoice.ALL.value
    )
    # Set when the customer cancelled (status cancelled): why, as a code, and in their words.
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(16))
    cancel_note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class SubscriptionOrder(Base):
    """One activation or renewal: held, provisioned, then posted or voided.

    Keyed by the nonce of the confirmation screen, so a second tap finds the first order.
    Completed orders are the customer's renewal history.
    """

    __tablename__ = "subscription_orders"
    __table_args__ = (
        CheckConstraint("kind IN ('activation', 'renewal')", name="kind"),
        CheckConstraint("status IN ('pending', 'completed', 'failed')", name="status"),
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("days > 0", name="days_positive"),
        Index("ix_subscription_orders_customer", "customer_id", "id"),
        Index("ix_subscription_orders_status", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.PENDING)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    username: Mapped[str] = mapped_column(String(32))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    days: Mapped[int]
    price: Mapped[int] = mapped_column(BigInteger)
    hold_id: Mapped[int] = mapped_column(ForeignKey("ledger_holds.id"))
    expires_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set on a pending order when its outcome is unknown (the panel did not answer):
    # reconciliation asks the panel and settles it. On a failed order: why it failed.
    error: Mapped[str | None] = mapped_column(String(255))
    # The panel the order provisions on (the plan's at the time) and the expiry asked of
    # it, so reconciliation can ask the panel what it has and compare.
    panel_id: Mapped[int | None] = mapped_column(ForeignKey("panels.id"))
    panel_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
