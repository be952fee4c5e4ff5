"""Top-ups: how resellers pay for credits, and their requests."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class TopUpStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class ProofKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"
    REFERENCE = "reference"


class PaymentMethod(Base):
    """A way to pay, configured by the operator (bank account, wallet address, ...)."""

    __tablename__ = "payment_methods"
    __table_args__ = (CheckConstraint("min_total >= 0", name="min_total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    instructions: Mapped[str] = mapped_column(Text)
    # Smallest payment accepted, in hundredths of the price currency.
    min_total: Mapped[int] = mapped_column(BigInteger, default=0)
    active: Mapped[bool] = mapped_column(default=True)
    # "manual" (a proof, an admin approves) or "stars" (a Telegram Stars invoice).
    kind: Mapped[str] = mapped_column(String(16), default="manual", server_default="manual")
    # Stars only: hundredths of a credit one Star buys, and the bounds of one top-up.
    stars_rate: Mapped[int | None] = mapped_column(BigInteger)
    stars_min_credits: Mapped[int | None] = mapped_column(BigInteger)
    stars_max_credits: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PriceTier(Base):
    """From ``min_credits`` up, one credit costs ``unit_price`` (cheaper in bulk)."""

    __tablename__ = "price_tiers"
    __table_args__ = (
        CheckConstraint("min_credits >= 0", name="min_credits_not_negative"),
        CheckConstraint("unit_price > 0", name="unit_price_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Hundredths of a credit.
    min_credits: Mapped[int] = mapped_column(BigInteger, unique=True)
    # Hundredths of the price currency per whole credit.
    unit_price: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopUpRequest(Base):
    """A reseller's request for credits, with its proof of payment.

    pending -> approved | rejected | expired | cancelled, each a conditional update on
    the current status, so a transition happens once however many times it is asked for.
    """

    __tablename__ = "topup_requests"
    __table_args__ = (
        CheckConstraint("credits > 0", name="credits_positive"),
        CheckConstraint("total_price > 0", name="total_positive"),
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'expired', 'cancelled')",
            name="status",
        ),
        CheckConstraint("proof_kind IN ('photo', 'document', 'reference')", name="proof_kind"),
        Index("ix_topup_requests_reseller_status", "reseller_id", "status"),
        Index("ix_topup_requests_status_created", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    credits: Mapped[int] = mapped_column(BigInteger)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    total_price: Mapped[int] = mapped_column(BigInteger)
    price_currency: Mapped[str] = mapped_column(String(16))
    method_id: Mapped[int] = mapped_column(ForeignKey("payment_methods.id"))
    proof_kind: Mapped[str] = mapped_column(String(16))
    proof_file_id: Mapped[str | None] = mapped_column(String(256))
    proof_reference: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=TopUpStatus.PENDING)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_by_name: Mapped[str | None] = mapped_column(String(128))
    reject_reason: Mapped[str | None] = mapped_column(String(255))
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    # When the stale-request job raised it again in the admin group.
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Where the request was posted for the admins, to edit it once decided.
    admin_chat_id: Mapped[int | None] = mapped_column(BigInteger)
    admin_message_id: Mapped[int | None] = mapped_column(BigInteger)


class RejectPrompt(Base):
    """A bot message asking an admin for a rejection reason, and the request it is for.

    An admin's reply is matched to it by the message it replies to, so the prompt works in
    any language and after a restart. Closed prompts are kept, to tell a late reply so.
    """

    __tablename__ = "topup_reject_prompts"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    request_id: Mapped[int] = mapped_column(ForeignKey("topup_requests.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
