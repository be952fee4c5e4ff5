"""SQLAlchemy tables. Rows only: the rules live in ``bot.services``."""

from models.admin import AdminAction
from models.announcement import Announcement, AnnouncementStatus
from models.base import Base, UTCDateTime
from models.credit_transfer import CreditTransfer, TransferKind
from models.customer import (
    Customer,
    CustomerStatus,
    OrderKind,
    OrderStatus,
    ReminderChoice,
    SubscriptionOrder,
)
from models.discount import DiscountCode, DiscountTarget
from models.job_run import JobRun, ReportSwitch
from models.language import ChatLanguage
from models.ledger import (
    AccountKind,
    CreditGrant,
    EntryKind,
    Hold,
    HoldAllocation,
    HoldStatus,
    LedgerAccount,
    SystemAccount,
    Transfer,
    TxType,
)
from models.notification import OutboxMessage, OutboxStatus, ResellerAlertState, UnreachableChat
from models.panel import Panel, PanelKind
from models.persistence import ConversationState, UserData
from models.plan import Plan
from models.portal import ChangeStatus, CustomerPause, PlanChangeRequest
from models.price_list import PriceList, PriceListEntry
from models.reseller import Billing, Reseller, ResellerStatus
from models.self_pay import SelfPayPrice, StarSubscription, SubscriptionState
from models.staff import StaffAdmin
from models.stars import MethodKind, StarPayment, StarPurpose, StarState
from models.topup import PaymentMethod, PriceTier, ProofKind, TopUpRequest, TopUpStatus

__all__ = [
    "AccountKind",
    "AdminAction",
    "Announcement",
    "AnnouncementStatus",
    "Base",
    "Billing",
    "ChangeStatus",
    "ChatLanguage",
    "ConversationState",
    "CreditGrant",
    "CreditTransfer",
    "Customer",
    "CustomerPause",
    "CustomerStatus",
    "DiscountCode",
    "DiscountTarget",
    "EntryKind",
    "Hold",
    "HoldAllocation",
    "HoldStatus",
    "JobRun",
    "LedgerAccount",
    "MethodKind",
    "OrderKind",
    "OrderStatus",
    "OutboxMessage",
    "OutboxStatus",
    "Panel",
    "PanelKind",
    "PaymentMethod",
    "Plan",
    "PlanChangeRequest",
    "PriceList",
    "PriceListEntry",
    "PriceTier",
    "ProofKind",
    "ReminderChoice",
    "ReportSwitch",
    "Reseller",
    "ResellerAlertState",
    "ResellerStatus",
    "SelfPayPrice",
    "StaffAdmin",
    "StarPayment",
    "StarPurpose",
    "StarState",
    "StarSubscription",
    "SubscriptionOrder",
    "SubscriptionState",
    "SystemAccount",
    "TopUpRequest",
    "TopUpStatus",
    "Transfer",
    "TransferKind",
    "TxType",
    "UTCDateTime",
    "UnreachableChat",
    "UserData",
]
