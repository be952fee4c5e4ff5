"""The drafts of the sub-resellers' two forms: plain values, stored with the conversation's
step (so they are imported with the feature, before the persistence lists draft types)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers import flow
from handlers.credit_form_parts import FormDraft


@dataclass
class SubResellerDraft(flow.FlowMessage):
    telegram_id: int = 0
    name: str = ""
    username: str | None = None
    threshold: int = 0
    nonce: str = ""


@dataclass
class AllocationDraft(FormDraft):
    """The parent's credit form: ``telegram_id`` is the sub-reseller's."""
