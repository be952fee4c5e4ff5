"""A customer asks to change package; their reseller approves or declines.

The customer picks among the active plans (not the one they have); the reseller gets the
request with what the new plan costs them and the difference from the current one, and
one-tap Approve or Decline. Approving is a sale on the new plan (``sales.sell``: hold,
panel, post) keyed by the request, so a second tap charges nothing more, refused if the
customer cancelled meanwhile; declining takes a reason, picked or typed. The customer is
told either way, through the outbox.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import (
    ledger,
    price_lists,
    sale_errors,
    sale_settlement,
    sales,
    star_subscriptions,
)
from bot.services.alerts import Kind
from bot.services.customers import CustomerError, CustomerView, PlanView, _load, _own, _plan
from bot.services.outbox import Outgoing, enqueue
from bot.services.panel_provider import Panels
from bot.services.portal import CHANGE_ORDER_KEY, owned
from bot.services.provisioning import Provider
from bot.services.resellers import require_by_telegram_id
from models import ChangeStatus, Customer, CustomerStatus, Plan, PlanChangeRequest, Reseller

REQUESTED_KIND = Kind.PLAN_CHANGE_REQUEST
DECIDED_KIND = Kind.PLAN_CHANGE_DECIDED
DECLINE_REASONS = ("not_offered", "contact_me", "later")
# Closed by Approve, nothing sold: the customer is on the plan asked for already (a paid
# change made meanwhile, say). Not a reason a reseller picks; the customer is not told.
ALREADY_ON_PLAN = "already_on_plan"
OTHER = "other"  # declined in the reseller's own words (``note``)
MAX_NOTE = 200  # what the customer reads in one notice line


@dataclass(frozen=True)
class ChangeRequest:
    id: int
    customer: CustomerView
    plan: PlanView
    status: ChangeStatus


class ChangeRepriced(CustomerError):
    """The new plan costs the reseller another price than the one they were shown: nothing
    was sold; ``params`` is the request quoted again (the notice's payload)."""

    code = "change_repriced"

    def __init__(self, message: str, quote: dict[str, str | int]) -> None:
        super().__init__(message, self.code, **quote)


@dataclass(frozen=True)
class Approved:
    request_id: int
    sale: sale_settlement.SaleResult
    # A Stars subscription renewing the old plan, for the caller to cancel at Telegram:
    # its next charge would put the customer back on that plan.
    to_stop: star_subscriptions.Subscription | None = None


async def offered(db: Database, chat_id: int, customer_id: int) -> list[PlanView]:
    """The plans the customer may change to: the active ones but their own."""
    async with db.transaction() as session:
        customer = await owned(session, chat_id, customer_id)
        rows = await session.scalars(
            select(Plan)
            .where(Plan.active.is_(True), Plan.id != customer.plan.id)
            .order_by(Plan.position, Plan.id)
        )
        return [_plan(p) for p in rows]


async def request_change(
    db: Database, *, chat_id: int, customer_id: int, plan_id: int, now: dt.datetime
) -> ChangeRequest:
    """Record the request and queue the reseller's notice; one pending at a time."""
    async with db.transaction() as session:
        customer = await owned(session, chat_id, customer_id, lock=True)
        if customer.status == CustomerStatus.CANCELLED:
            raise CustomerError("The subscription was cancelled.", "cancelled")
        if customer.status == CustomerStatus.PAUSED:
            # A sale on a paused subscription would leave the pause and the panel at odds.
            raise CustomerError("Resume the subscription first.", "resume_first")
        plan = await session.get(Plan, plan_id, populate_existing=True)
        if plan is None or not plan.active or plan.id == customer.plan.id:
            raise CustomerError("That plan is not available.", "plan_unavailable")
        if await session.scalar(
            select(PlanChangeRequest.id).where(
                PlanChangeRequest.customer_id == customer.id,
                PlanChangeRequest.status == ChangeStatus.PENDING,
            )
        ):
            raise CustomerError("A change is already waiting for your reseller.", "change_pending")
        row = PlanChangeRequest(
            customer_id=customer.id,
            from_plan_id=customer.plan.id,
            plan_id=plan.id,
            status=ChangeStatus.PENDING,
            created_at=now,
        )
        session.add(row)
        await session.flush()
        reseller = await session.get(Reseller, customer.reseller_id)
        assert reseller is not None
        notice = Outgoing(
            key=f"plan-change:{row.id}",
            chat_id=reseller.telegram_id,
            kind=REQUESTED_KIND,
            payload=await _quote(session, row.id, customer, plan),
        )
        await enqueue(session, [notice], now)
        return ChangeRequest(row.id, customer, _plan(plan), ChangeStatus.PENDING)


async def _quote(
    session: AsyncSession, request_id: int, customer: CustomerView, plan: Plan
) -> dict[str, str | int]:
    """The request as the reseller is shown it: what the new plan costs them (their price
    list; never shown to the customer) and the difference from the current one. Approve
    sells at exactly this price or not at all."""
    new = _plan(plan)
    price = await price_lists.price_for(session, customer.reseller_id, new)
    current = await price_lists.price_for(session, customer.reseller_id, customer.plan)
    return {
        "request_id": request_id,
        "username": customer.username,
        "from_plan": customer.plan.name,
        "plan": new.name,
        "days": new.days,
        "price": price,
        "difference": price - current,
    }


async def _repriced(db: Database, request: ChangeRequest) -> ChangeRepriced:
    async with db.transaction() as session:
        customer = await _load(session, request.customer.id)
        plan = await session.get(Plan, request.plan.id, populate_existing=True)
        assert customer is not None and plan is not None
        if not plan.active:
            raise sale_errors.PlanUnavailable("That plan is no longer available.")
        quote = await _quote(session, request.id, customer, plan)
    return ChangeRepriced(f"The new plan now costs {quote['price']}.", quote)


async def _pending_of(db: Database, telegram_id: int, request_id: int) -> ChangeRequest:
    """The reseller's own request (anyone else's looks missing), whatever its status."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        row = await session.get(PlanChangeRequest, request_id, populate_existing=True)
        if row is None:
            raise CustomerError("No such request.", "no_such_request")
        try:
            customer = await _own(session, reseller, row.customer_id)
        except CustomerError:
            raise CustomerError("No such request.", "no_such_request") from None
        plan = await session.get(Plan, row.plan_id)
        assert plan is not None
        return ChangeRequest(row.id, customer, _plan(plan), ChangeStatus(row.status))


async def _decide(
    db: Database,
    request: ChangeRequest,
    status: ChangeStatus,
    now: dt.datetime,
    reason: str | None = None,
    note: str | None = None,
) -> bool:
    """Pending -> ``status``, and the customer told; False if it had been decided."""
    async with db.transaction() as session:
        moved = await session.execute(
            update(PlanChangeRequest)
            .where(
                PlanChangeRequest.id == request.id,
                PlanChangeRequest.status == ChangeStatus.PENDING,
            )
            .values(status=status, reason=reason, note=note, decided_at=now)
        )
        if ledger.rowcount(moved) != 1:
            return False
        customer = await _load(session, request.customer.id)
        assert customer is not None
        chat_id = await session.scalar(select(Customer.chat_id).where(Customer.id == customer.id))
        renewing = None
        if status == ChangeStatus.APPROVED:
            renewing = await star_subscriptions.renewing_another_plan(
                session, customer.id, request.plan.id
            )
        stopped = None if renewing is None else await session.get(Plan, renewing.plan_id)
        if chat_id is not None:
            notice = Outgoing(
                key=f"plan-change-decided:{request.id}",
                chat_id=chat_id,
                kind=DECIDED_KIND,
                payload={
                    "username": customer.username,
                    "plan": request.plan.name,
                    "approved": status == ChangeStatus.APPROVED,
                    "reason": reason or "",
                    "note": note or "",
                    "expires_at": customer.expires_at.isoformat(),
                    # its automatic renewal, stopped by the caller (``Approved.to_stop``)
                    "stopped_plan": "" if stopped is None else stopped.name,
                },
            )
            await enqueue(session, [notice], now)
        return True


async def approve(
    db: Database,
    provider: Provider,
    panels: Panels | None,
    *,
    telegram_id: int,
    request_id: int,
    now: dt.datetime,
    provider_seconds: float,
    expected_price: int | None,
) -> Approved:
    """Sell the new plan to the customer at ``expected_price``, the price the reseller was
    shown (keyed by the request: a second tap charges nothing more), then mark the request
    approved and tell the customer. At another price (or none shown, an older button) it
    raises ChangeRepriced with the request quoted again, and nothing is sold. A customer
    on that plan already (a paid change made since the request) is refused in the sale
    (AlreadyOnPlan, nothing held) and the request closed: a sale would renew it at the
    reseller's expense."""
    request = await _pending_of(db, telegram_id, request_id)
    if request.status == ChangeStatus.DECLINED:
        raise CustomerError("This request was declined.", "change_decided")
    if request.status == ChangeStatus.PENDING and expected_price is None:
        raise await _repriced(db, request)
    try:
        result = await sales.sell(
            db,
            provider,
            telegram_id=telegram_id,
            plan_id=request.plan.id,
            key=f"{CHANGE_ORDER_KEY}{request.id}",
            now=now,
            provider_seconds=provider_seconds,
            customer_id=request.customer.id,
            panels=panels,
            expected_price=expected_price,
            refuse_cancelled=True,  # a Cancel landing since the request was read
            refuse_same_plan=True,  # made meanwhile: selling it again would renew it
        )
    except sale_errors.PriceChanged:
        raise await _repriced(db, request) from None
    except sale_errors.AlreadyOnPlan:
        await _close_moot(db, request.id, now)
        raise
    await _decide(db, request, ChangeStatus.APPROVED, now)
    return Approved(request.id, result, await _renewing_old_plan(db, request))


async def _close_moot(db: Database, request_id: int, now: dt.datetime) -> None:
    """A request for the plan the customer is on already: closed, nothing sold, nobody
    told (the change that put them there was told already). Once, whoever taps."""
    async with db.transaction() as session:
        await session.execute(
            update(PlanChangeRequest)
            .where(
                PlanChangeRequest.id == request_id,
                PlanChangeRequest.status == ChangeStatus.PENDING,
            )
            .values(status=ChangeStatus.DECLINED, reason=ALREADY_ON_PLAN, decided_at=now)
        )


async def _renewing_old_plan(
    db: Database, request: ChangeRequest
) -> star_subscriptions.Subscription | None:
    """Looked up again on a second tap too, so a cancel Telegram refused is tried again."""
    async with db.transaction() as session:
        found = await star_subscriptions.renewing_another_plan(
            session, request.customer.id, request.plan.id
        )
    return None if found is None else await star_subscriptions.by_id(db, found.id)


async def waiting(db: Database, *, telegram_id: int, request_id: int) -> ChangeRequest:
    """The reseller's own request, still waiting for an answer (to type a reason for)."""
    request = await _pending_of(db, telegram_id, request_id)
    if request.status != ChangeStatus.PENDING:
        raise CustomerError("This request was already answered.", "change_decided")
    return request


def check_note(text: str) -> str:
    """The reseller's own reason: one to MAX_NOTE characters, spaces tidied."""
    note = " ".join(text.split())
    if not note:
        raise CustomerError("Write a few words, or pick a reason.", "note_empty")
    if len(note) > MAX_NOTE:
        raise CustomerError(
            f"At most {MAX_NOTE} characters, please.", "note_too_long", limit=MAX_NOTE
        )
    return note


async def decline(
    db: Database,
    *,
    telegram_id: int,
    request_id: int,
    reason: str,
    now: dt.datetime,
    note: str | None = None,
) -> ChangeRequest:
    """Decline with one of DECLINE_REASONS, or OTHER and the reseller's ``note``."""
    if reason == OTHER:
        note = check_note(note or "")
    elif reason in DECLINE_REASONS:
        note = None
    else:
        raise CustomerError("Pick one of the reasons.", "reason_invalid")
    request = await _pending_of(db, telegram_id, request_id)
    if not await _decide(db, request, ChangeStatus.DECLINED, now, reason, note):
        raise CustomerError("This request was already answered.", "change_decided")
    return request
