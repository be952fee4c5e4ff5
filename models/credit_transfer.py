from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class TransferKind(StrEnum):
    TRANSFER = "transfer"  # between two resellers, by the sender
    ALLOCATE = "allocate"  # a parent adds credits to its sub-reseller
    RECLAIM = "reclaim"  # a parent takes credits back from its sub-reseller
    REVERSAL = "reversal"  # an admin reverses a transfer


class CreditTransfer(Base):
    """Credits moved from one reseller to another, beside the ledger movement that did it:
    who asked, why, and whether an admin reversed it (a ``REVERSAL`` row naming it)."""

    __tablename__ = "credit_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_reseller_id <> to_reseller_id", name="distinct_resellers"),
        CheckConstraint("kind IN ('transfer', 'allocate', 'reclaim', 'reversal')", name="kind"),
        CheckConstraint("tx_type IN ('purchase', 'adjustment')", name="tx_type"),
        CheckConstraint(
            "(kind = 'reversal') = (reverses_id IS NOT NULL)", name="reversal_names_transfer"
        ),
        Index("ix_credit_transfers_from_created", "from_reseller_id", "created_at"),
        Index("ix_credit_transfers_to_created", "to_reseller_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    from_reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    to_reseller_id: Mapped[int] = mapped_column(ForeignKey("resellers.id"))
    # Hundredths of a credit.
    amount: Mapped[int] = mapped_column(BigInteger)
    tx_type: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(String(255))
    # Allocations only: the latest the credits given may expire, as the parent chose; a
    # part may expire sooner, as it would have with the parent (see their grants).
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Telegram id of whoever did it (the sender, the parent, or the admin who reversed).
    actor_telegram_id: Mapped[int] = mapped_column(BigInteger)
    ledger_transfer_id: Mapped[int] = mapped_column(ForeignKey("ledger_transfers.id"), unique=True)
    # Reversals only, and at most one per transfer.
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("credit_transfers.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
