"""Telegram Stars payments: what was invoiced, paid and refunded.

A payment has a ``purpose``: ``topup`` (a reseller buying credits), ``renewal`` (a
customer paying its own renewal; the Stars become revenue credited to its reseller) or
``plan_change`` (a customer paying its own change of package, credited the same way).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class MethodKind(StrEnum):
    MANUAL = "manual"  # pay outside Telegram, send a proof, an admin approves
    STARS = "stars"  # pay an invoice in Telegram Stars, credited at once


class StarPurpose(StrEnum):
    TOPUP = "topup"
    RENEWAL = "renewal"
    PLAN_CHANGE = "plan_change"


class StarState(StrEnum):
    INVOICED = "invoiced"
    PAID = "paid"
    REFUND_PENDING = "refund_pending"
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class StarPayment(Base):
    """One invoice in Stars and what became of it.

    invoiced -> paid | cancelled; paid -> refund_pending -> refunded (or back to paid when
    Telegram refuses the refund); paid -> refunded when Telegram reports a refund itself.
    Every transition is a conditional update on the current state.
    """

    __tablename__ = "star_payments"
    __table_args__ = (
        CheckConstraint("stars > 0", name="stars_positive"),
        CheckConstraint("credits > 0", name="credits_positive"),
        CheckConstraint("rate > 0", name="rate_positive"),
        CheckConstraint("refund_shortfall >= 0", name="shortfall_not_negative"),
        CheckConstraint("purpose IN ('topup', 'renewal', 'plan_change')", name="purpose"),
        CheckConstraint(
            "state IN ('invoiced', 'paid', 'refund_pending', 'refunded', 'cancelled')",
            name="state",
        ),
        Index("ix_star_payments_reseller_state", "reseller_id", "state"),
        Index("ix_star_payments_paid_at", "paid_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(16), default=StarPurpose.TOPUP)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    method_id: Mapped[int] = mapped_column(ForeignKey("payment_methods.id"))
    # The top-up request the payment became (approved) once paid.
    topup_request_id: Mapped[int | None] = mapped_column(ForeignKey("topup_requests.id"))
    # A renewal or a change: the customer, and the plan it was priced for (the new one).
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    # A subscription's charge: each period's payment is a row of its own.
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("star_subscriptions.id"))
    stars: Mapped[int] = mapped_column(BigInteger)
    # A discount code entered at the invoice, and the Stars it took off ``stars``.
    discount_code_id: Mapped[int | None] = mapped_column(ForeignKey("discount_codes.id"))
    discount_stars: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Hundredths of a credit granted for the payment.
    credits: Mapped[int] = mapped_column(BigInteger)
    # The rate of the invoice: hundredths of a credit per Star.
    rate: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(String(128), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=StarState.INVOICED)
    telegram_payment_charge_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    provider_payment_charge_id: Mapped[str | None] = mapped_column(String(255))
    payer_telegram_id: Mapped[int] = mapped_column(BigInteger)
    grant_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    refund_transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    # Credits a refund could not take back (already spent), in hundredths.
    refund_shortfall: Mapped[int] = mapped_column(BigInteger, default=0)
    # Refund tries, so each try's ledger movements have their own keys.
    refund_attempts: Mapped[int] = mapped_column(default=0)
    refund_reason: Mapped[str | None] = mapped_column(String(255))
    refund_actor: Mapped[str | None] = mapped_column(String(64))
    refund_error: Mapped[str | None] = mapped_column(String(255))
    # When the refund under way began, and until when one caller holds it (asking
    # Telegram): no second caller asks at the same time.
    refund_begun_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refund_claimed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Telegram would not refund: the recovery job asks again from then on.
    refund_retry_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
