"""The add / remove credit form's steps by name and its draft: the reseller's id and the
answers so far, as plain values; names and balances are read again at every step."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.credit_form_parts import FormDraft

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
class CreditDraft(FormDraft):
    """The admin's form: ``telegram_id`` is the reseller's."""
