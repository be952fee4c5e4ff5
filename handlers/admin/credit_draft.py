"""The add / remove credit form's steps by name and its draft: the reseller's id and the
answers so far, as plain values; names and balances are read again at every step."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.services.credits import Action
from handlers import flow
from models import TxType

DRAFT = "credit_draft"
ACTION, TYPE, AMOUNT, COMMENT, EXPIRY, CONFIRM = (
    "credit:action",
    "credit:type",
    "credit:amount",
    "credit:comment",
    "credit:expiry",
    "credit:confirm",
)


@dataclass
class CreditDraft(flow.FlowMessage):
    telegram_id: int = 0  # the reseller's
    action: Action | None = None
    tx_type: TxType | None = None
    amount: int | None = None  # hundredths
    comment: str | None = None
    expires_on: str | None = None  # the last day the credits can be used, yyyy-mm-dd
    nonce: str = ""  # minted with the summary; the movement is keyed by it

    @property
    def last_day(self) -> dt.date | None:
        return dt.date.fromisoformat(self.expires_on) if self.expires_on else None
