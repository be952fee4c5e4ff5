"""Double-entry credit ledger.

Every balance change is a ``Transfer`` of a positive amount from one account to another,
so all balances always sum to zero. ``LedgerAccount.balance`` and ``held`` are kept in
step with the transfers and holds in the same transaction; the audit recomputes them.
All amounts are integer hundredths of a credit.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class AccountKind(StrEnum):
    RESELLER = "reseller"
    SYSTEM = "system"


class SystemAccount(StrEnum):
    """Counterparties of reseller accounts. Their balances are unbounded."""

    ISSUANCE = "issuance"  # credits granted to resellers come from here
    SALES = "sales"  # activations and renewals are paid into here
    CASH = "cash"  # cash collected from postpaid resellers
    EXPIRED = "expired"  # what is left of expired grants


class EntryKind(StrEnum):
    TOPUP = "topup"
    ACTIVATION = "activation"
    RENEWAL = "renewal"
    REFUND = "refund"
    TRANSFER = "transfer"  # between two resellers, by the sender
    ALLOCATION = "allocation"  # between a parent and its sub-reseller, either way
    TRANSFER_REVERSAL = "transfer_reversal"  # an admin undoing a transfer
    MARGIN = "margin"  # a parent's share of its sub-reseller's sale
    ADJUSTMENT = "adjustment"
    EXPIRY = "expiry"
    CASH_RECEIVED = "cash_received"
    STARS_REVENUE = "stars_revenue"  # a customer's renewal paid in Stars, credited to its reseller


class TxType(StrEnum):
    PURCHASE = "purchase"
    ADJUSTMENT = "adjustment"


class HoldStatus(StrEnum):
    PENDING = "pending"
    POSTED = "posted"
    VOIDED = "voided"


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (
        CheckConstraint("kind IN ('reseller', 'system')", name="kind"),
        CheckConstraint(
            "(kind = 'reseller' AND reseller_id IS NOT NULL AND code IS NULL"
            " AND credit_limit IS NOT NULL)"
            " OR (kind = 'system' AND reseller_id IS NULL AND code IS NOT NULL)",
            name="owner",
        ),
        CheckConstraint("held >= 0", name="held_not_negative"),
        CheckConstraint("credit_limit IS NULL OR credit_limit >= 0", name="limit_not_negative"),
        # Safety net under the conditional debits: the database itself refuses a
        # reseller balance below its limit, whatever code runs.
        CheckConstraint(
            "credit_limit IS NULL OR balance - held >= -credit_limit", name="within_limit"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    code: Mapped[str | None] = mapped_column(String(32), unique=True)
    reseller_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id"), unique=True)
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    held: Mapped[int] = mapped_column(BigInteger, default=0)
    # How far below zero the balance may go: 0 for prepaid, the collection limit for
    # postpaid, NULL (unbounded) for system accounts.
    credit_limit: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Transfer(Base):
    """One ledger movement. Append-only: a mistake is corrected by a new transfer."""

    __tablename__ = "ledger_transfers"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("from_account_id <> to_account_id", name="distinct_accounts"),
        CheckConstraint("tx_type IN ('purchase', 'adjustment')", name="tx_type"),
        Index("ix_ledger_transfers_from_created", "from_account_id", "id"),
        Index("ix_ledger_transfers_to_created", "to_account_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    to_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    tx_type: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(64))
    # What the movement relates to, e.g. "topup:42" or "hold:7".
    related: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Hold(Base):
    """Credits reserved while an outside system acts; posted on success, voided on failure."""

    __tablename__ = "ledger_holds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('pending', 'posted', 'voided')", name="status"),
        CheckConstraint("account_id <> to_account_id", name="distinct_accounts"),
        Index("ix_ledger_holds_account_status", "account_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    to_account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default=HoldStatus.PENDING)
    kind: Mapped[str] = mapped_column(String(32))
    tx_type: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(String(255))
    actor: Mapped[str] = mapped_column(String(64))
    related: Mapped[str | None] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class CreditGrant(Base):
    """Credits that came into a reseller's account, tracked so the soonest-expiring are
    spent first and what is left of an expiring one can be removed.

    Every credit into a reseller account makes one (``expires_at`` NULL: never expires);
    credits moved from another reseller make one per expiry they carry.
    ``remaining`` is what is still free; what pending holds reserve from it is in
    ``HoldAllocation``.
    """

    __tablename__ = "credit_grants"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_in_range"),
        Index("ix_credit_grants_account_open", "account_id", "expired_at", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"))
    # The movement that brought the credits in; NULL only for the opening grant that
    # migration 0005 wrote for credit received before every credit had a grant. A
    # transfer between resellers makes one grant per expiry of the credits it carried.
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_transfers.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    remaining: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set once, when the expiry job has removed what was left.
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HoldAllocation(Base):
    """How much of one grant a pending hold reserves. Posting spends it; voiding gives it
    back to the grant (or expires it, if the grant expired meanwhile)."""

    __tablename__ = "ledger_hold_allocations"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index("ix_ledger_hold_allocations_hold", "hold_id"),
        Index("ix_ledger_hold_allocations_grant", "grant_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    hold_id: Mapped[int] = mapped_column(ForeignKey("ledger_holds.id"))
    grant_id: Mapped[int] = mapped_column(ForeignKey("credit_grants.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
