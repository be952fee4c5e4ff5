"""SQLAlchemy tables. Rows only: the rules live in ``bot.services``."""

from models.base import Base, UTCDateTime
from models.ledger import (
    AccountKind,
    CreditGrant,
    EntryKind,
    Hold,
    HoldStatus,
    LedgerAccount,
    SystemAccount,
    Transfer,
    TxType,
)
from models.plan import Plan
from models.reseller import Billing, Reseller, ResellerStatus
from models.topup import PaymentMethod, PriceTier, ProofKind, TopUpRequest, TopUpStatus

__all__ = [
    "AccountKind",
    "Base",
    "Billing",
    "CreditGrant",
    "EntryKind",
    "Hold",
    "HoldStatus",
    "LedgerAccount",
    "PaymentMethod",
    "Plan",
    "PriceTier",
    "ProofKind",
    "Reseller",
    "ResellerStatus",
    "SystemAccount",
    "TopUpRequest",
    "TopUpStatus",
    "Transfer",
    "TxType",
    "UTCDateTime",
]
