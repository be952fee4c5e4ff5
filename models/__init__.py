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

__all__ = [
    "AccountKind",
    "Base",
    "Billing",
    "CreditGrant",
    "EntryKind",
    "Hold",
    "HoldStatus",
    "LedgerAccount",
    "Plan",
    "Reseller",
    "ResellerStatus",
    "SystemAccount",
    "Transfer",
    "TxType",
    "UTCDateTime",
]
