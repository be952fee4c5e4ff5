"""The portal's flow drafts, imported with the package so that the conversation's
persistence knows them before any handler is wired (``flow.draft_types``)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers import flow


@dataclass
class CancelDraft(flow.FlowMessage):
    """Cancelling: which of the chat's subscriptions, and the reason so far."""

    customer_id: int = 0
    reason: str = ""
    note: str = ""


@dataclass
class DeclineDraft(flow.FlowMessage):
    """A reseller typing why they decline a change of package: which request."""

    request_id: int = 0
