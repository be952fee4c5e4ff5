"""The add / remove credit form's name (which names its states) and its draft: the
reseller's id and the answers so far, as plain values; names and balances are read again
at every step."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.credit_form_parts import FormDraft

DRAFT = "credit_draft"
NAME = "credit"  # the form's states are named after it: credit:action ... credit:confirm


@dataclass
class CreditDraft(FormDraft):
    """The admin's form: ``telegram_id`` is the reseller's."""
