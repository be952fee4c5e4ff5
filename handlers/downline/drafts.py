"""The drafts of the sub-resellers' two forms: plain values, stored with the conversation's
step (so they are imported with the feature, before the persistence lists draft types)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.services.credits import Action
from handlers import flow
from models import TxType


@dataclass
class SubResellerDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""
    username: str | None = None
    threshold: int = 0
    nonce: str = ""


@dataclass
class AllocationDraft(flow.FlowMessage):
    """The form's answers so far; names and balances are read again at every step."""

    telegram_id: int = 0  # the sub-reseller's
    action: Action | None = None
    tx_type: TxType | None = None
    amount: int | None = None  # hundredths
    comment: str | None = None
    expires_on: str | None = None  # the last day the credits can be used, yyyy-mm-dd
    nonce: str = ""  # minted with the summary; the movement is keyed by it

    @property
    def last_day(self) -> dt.date | None:
        return dt.date.fromisoformat(self.expires_on) if self.expires_on else None
