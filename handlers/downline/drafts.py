"""The drafts of the sub-resellers' two forms: plain values, stored with the conversation's
step (so they are imported with the feature, before the persistence lists draft types)."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.credit_form_parts import FormDraft
from handlers.enrol_form import PersonDraft


@dataclass
class SubResellerDraft(PersonDraft):
    """Registering one: who, and the threshold (a sub-reseller is always prepaid)."""


@dataclass
class AllocationDraft(FormDraft):
    """The parent's credit form: ``telegram_id`` is the sub-reseller's."""
