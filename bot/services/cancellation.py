"""A customer cancels their subscription: why (a reason code, and their words if they
give them), the reseller told through the outbox in the same transaction, and no more
reminders (the reminder job reads only active and expired subscriptions; those already
queued are withdrawn here).

The panel is left as it is: the subscription runs to its expiry unless the reseller acts.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update

from bot.db import Database
from bot.services import ledger
from bot.services.alerts import Kind
from bot.services.customers import CustomerError, CustomerView, _load
from bot.services.outbox import Outgoing, enqueue
from bot.services.portal import owned
from models import (
    ChangeStatus,
    Customer,
    CustomerPause,
    CustomerStatus,
    OutboxMessage,
    OutboxStatus,
    PlanChangeRequest,
    Reseller,
)

REASONS = ("price", "unused", "quality", "moving", "other")
MAX_NOTE = 255
CANCELLED_KIND = Kind.CUSTOMER_CANCELLED


def check_note(text: str) -> str:
    """The customer's own words: one to 255 characters."""
    note = " ".join(text.split())
    if not note:
        raise CustomerError("Write a few words, or pick a reason.", "note_empty")
    if len(note) > MAX_NOTE:
        raise CustomerError(
            f"At most {MAX_NOTE} characters, please.", "note_too_long", limit=MAX_NOTE
        )
    return note


async def cancel(
    db: Database,
    *,
    chat_id: int,
    customer_id: int,
    reason: str,
    note: str | None,
    now: dt.datetime,
) -> CustomerView:
    """Cancel the chat's subscription ``customer_id``; a second time is refused."""
    if reason not in REASONS:
        raise CustomerError("Pick one of the reasons.", "reason_invalid")
    async with db.transaction() as session:
        customer = await owned(session, chat_id, customer_id, lock=True)
        moved = await session.execute(
            update(Customer)
            .where(Customer.id == customer.id, Customer.status != CustomerStatus.CANCELLED)
            .values(
                status=CustomerStatus.CANCELLED,
                cancelled_at=now,
                cancel_reason=reason,
                cancel_note=note,
            )
        )
        if ledger.rowcount(moved) != 1:
            raise CustomerError("The subscription is already cancelled.", "already_cancelled")
        # A change of package still waiting ends too: approving it would sell a renewal of
        # a subscription its customer left.
        await session.execute(
            update(PlanChangeRequest)
            .where(
                PlanChangeRequest.customer_id == customer.id,
                PlanChangeRequest.status == ChangeStatus.PENDING,
            )
            .values(status=ChangeStatus.DECLINED, reason="cancelled", decided_at=now)
        )
        # A pause ends with the subscription: nothing is left to resume.
        await session.execute(
            update(CustomerPause)
            .where(CustomerPause.customer_id == customer.id, CustomerPause.resumed_at.is_(None))
            .values(resumed_at=now)
        )
        await session.execute(
            delete(OutboxMessage).where(
                OutboxMessage.kind == Kind.EXPIRY_REMINDER,
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.key.startswith(f"remind:{customer.id}:", autoescape=True),
            )
        )
        reseller_chat = await session.scalar(
            select(Reseller.telegram_id).where(Reseller.id == customer.reseller_id)
        )
        assert reseller_chat is not None
        notice = Outgoing(
            key=f"cancelled:{customer.id}:{now.isoformat()}",
            chat_id=reseller_chat,
            kind=CANCELLED_KIND,
            payload={
                "customer_id": customer.id,
                "username": customer.username,
                "plan": customer.plan.name,
                "expires_at": customer.expires_at.isoformat(),
                "reason": reason,
                "note": note or "",
            },
        )
        await enqueue(session, [notice], now)
        found = await _load(session, customer.id)
        assert found is not None
        return found
