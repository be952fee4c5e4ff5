"""Top-up requests: a reseller asks for credits with a proof, an admin decides once.

pending -> approved | rejected | expired | cancelled. Every transition is one conditional
UPDATE on the current status, checked by its row count, so two taps or two admins make
exactly one transition. Approval grants the credits through the ledger in the same
transaction, keyed by the request, so they are granted once whatever happens. The
reseller's notice of a decision is queued in the outbox in that same transaction, so it
is sent even if the bot stops right after the commit.

Here: the reseller's side, from the offer to the request and its cancelling. Beside it:
``topup_decisions`` (the admins' approval or rejection) and ``topup_reads`` (the request's
view and the reads).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TypeGuard

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.money import format_number
from bot.services import pricing
from bot.services.resellers import ResellerView, require_by_telegram_id
from bot.services.topup_decisions import transition
from bot.services.topup_reads import Proof, RequestView, TopUpError, count_pending, load, require
from models import Reseller, ResellerStatus, TopUpRequest, TopUpStatus

MAX_REFERENCE = 128
MIN_REFERENCE = 4


@dataclass(frozen=True)
class Limits:
    min_credits: int
    max_credits: int
    max_pending: int
    currency: str


def check_reference(text: str) -> str:
    """A transaction id typed as proof: one line, 4 to 128 characters."""
    reference = text.strip()
    if "\n" in reference or not MIN_REFERENCE <= len(reference) <= MAX_REFERENCE:
        raise TopUpError(
            "bad_reference",
            f"A transaction id is one line of {MIN_REFERENCE} to {MAX_REFERENCE} characters.",
            shortest=MIN_REFERENCE,
            longest=MAX_REFERENCE,
        )
    return reference


async def _active_reseller(session: AsyncSession, telegram_id: int) -> ResellerView:
    reseller = await require_by_telegram_id(session, telegram_id)
    if reseller.status != ResellerStatus.ACTIVE:
        raise TopUpError("suspended", "Your reseller account is suspended. Contact an admin.")
    return reseller


async def can_start(db: Database, telegram_id: int, limits: Limits) -> None:
    """Refuse early, before any question is asked, what could never be submitted."""
    async with db.transaction() as session:
        reseller = await _active_reseller(session, telegram_id)
        if await count_pending(session, reseller.id) >= limits.max_pending:
            raise TopUpError(
                "too_many_pending",
                f"You already have {limits.max_pending} top-ups waiting for an admin. "
                "Wait for them, or cancel one in /topups.",
                limit=limits.max_pending,
            )
        if not await pricing.tiers(session):
            raise TopUpError("not_set_up", "Top-ups are not set up yet. Please contact an admin.")


def _check_limits(credits: int, limits: Limits) -> None:
    if credits < limits.min_credits:
        raise TopUpError(
            "below_minimum",
            f"The smallest top-up is {format_number(limits.min_credits)} credits.",
            minimum=limits.min_credits,
        )
    if credits > limits.max_credits:
        raise TopUpError(
            "above_maximum",
            f"The largest top-up is {format_number(limits.max_credits)} credits.",
            maximum=limits.max_credits,
        )


def _below_tiers() -> TopUpError:
    return TopUpError(
        "below_tiers", "That amount is below the smallest price tier. Try more credits."
    )


def _accepts(method: pricing.Method | None, total: int) -> TypeGuard[pricing.Method]:
    return method is not None and method.active and method.min_total <= total


async def price(
    db: Database, credits: int, limits: Limits
) -> tuple[pricing.Quote, list[pricing.Method]]:
    """The price of ``credits`` and the methods that accept it, or why not."""
    _check_limits(credits, limits)
    async with db.transaction() as session:
        quote = await pricing.quote(session, credits)
        if quote is None:
            raise _below_tiers()
        methods = await pricing.methods_for(session, quote.total)
    if not methods:
        raise TopUpError(
            "no_method",
            "No payment method accepts that amount. Try more credits, or contact an admin.",
        )
    return quote, methods


async def offer(
    db: Database, credits: int, method_id: int, limits: Limits
) -> tuple[pricing.Quote, pricing.Method]:
    """Today's price of ``credits`` and the method, read again: a flow keeps only their
    ids between steps. Refused if the method no longer accepts the amount."""
    _check_limits(credits, limits)
    async with db.transaction() as session:
        quote = await pricing.quote(session, credits)
        chosen = await pricing.method(session, method_id)
    if quote is None:
        raise _below_tiers()
    if not _accepts(chosen, quote.total):
        raise TopUpError(
            "method_unavailable", "That payment method is not available. Pick another one."
        )
    return quote, chosen


async def available_method(db: Database, method_id: int, total: int) -> pricing.Method:
    """The method a reseller picked, if it is still active and accepts ``total``."""
    async with db.transaction() as session:
        chosen = await pricing.method(session, method_id)
    if not _accepts(chosen, total):
        raise TopUpError(
            "method_unavailable", "That payment method is not available. Pick another one."
        )
    return chosen


async def create_request(
    db: Database,
    *,
    telegram_id: int,
    credits: int,
    method_id: int,
    proof: Proof,
    key: str,
    limits: Limits,
    unit_price: int | None = None,
    method_version: str | None = None,
) -> tuple[RequestView, bool]:
    """Submit a request (pending). Returns it and whether it was new.

    The price is computed again here, from the current tiers: what the reseller confirmed
    on screen is re-checked, never trusted. Given what they were shown (``unit_price``,
    the method's ``pricing.version``), a request is refused (``offer_changed``) rather
    than made at a price or by a method they did not see.
    """

    async def _create(session: AsyncSession) -> tuple[RequestView, bool]:
        existing = await session.scalar(
            select(TopUpRequest.id).where(TopUpRequest.idempotency_key == key)
        )
        if existing is not None:
            return await require(session, existing), False
        reseller = await _active_reseller(session, telegram_id)
        # Lock the reseller row so two submissions cannot both pass the pending limit.
        # FOR NO KEY UPDATE (key_share): rows that only refer to the reseller, such as an
        # action-log line, are not held up by it, so no deadlock with a decision.
        await session.execute(
            select(Reseller.id).where(Reseller.id == reseller.id).with_for_update(key_share=True)
        )
        if await count_pending(session, reseller.id) >= limits.max_pending:
            raise TopUpError(
                "too_many_pending",
                f"You already have {limits.max_pending} top-ups waiting for an admin.",
                limit=limits.max_pending,
            )
        if not limits.min_credits <= credits <= limits.max_credits:
            raise TopUpError("outside_limits", "That amount is outside the top-up limits.")
        quote = await pricing.quote(session, credits)
        chosen = await pricing.method(session, method_id)
        if quote is None:
            raise TopUpError("below_tiers", "That amount is below the smallest price tier.")
        if not _accepts(chosen, quote.total):
            raise TopUpError(
                "method_gone", "That payment method is no longer available. Start again: /topup"
            )
        if (unit_price is not None and unit_price != quote.unit_price) or (
            method_version is not None and method_version != pricing.version(chosen)
        ):
            raise TopUpError(
                "offer_changed",
                "The price or the payment method changed since the summary was shown.",
                unit_price=quote.unit_price,
            )
        request = TopUpRequest(
            reseller_id=reseller.id,
            credits=credits,
            unit_price=quote.unit_price,
            total_price=quote.total,
            price_currency=limits.currency,
            method_id=chosen.id,
            proof_kind=proof.kind,
            proof_file_id=proof.file_id,
            proof_reference=proof.reference,
            status=TopUpStatus.PENDING,
            idempotency_key=key,
        )
        session.add(request)
        await session.flush()
        return await require(session, request.id), True

    return await db.run(_create)


async def record_admin_post(db: Database, request_id: int, chat_id: int, message_id: int) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(TopUpRequest)
            .where(TopUpRequest.id == request_id)
            .values(admin_chat_id=chat_id, admin_message_id=message_id)
        )


async def cancel(
    db: Database, *, request_id: int, telegram_id: int, now: dt.datetime
) -> RequestView:
    """The reseller withdraws their own pending request."""
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        found = await load(session, request_id)
        # Someone else's request looks exactly like a missing one.
        if found is None or found.reseller_id != reseller.id:
            raise TopUpError(
                "not_own_request", "You have no such top-up request.", request_id=request_id
            )
        await transition(session, found, TopUpStatus.CANCELLED, now=now)
        return await require(session, request_id)
