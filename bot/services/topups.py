"""Top-up requests: a reseller asks for credits with a proof, an admin decides once.

pending -> approved | rejected | expired | cancelled. Every transition is one conditional
UPDATE on the current status, checked by its row count, so two taps or two admins make
exactly one transition. Approval grants the credits through the ledger in the same
transaction, keyed by the request, so they are granted once whatever happens. The
reseller's notice of a decision is queued in the outbox in that same transaction, so it
is sent even if the bot stops right after the commit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, TypeGuard

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.money import format_number
from bot.services import admin_log, ledger, pricing
from bot.services.alerts import Kind
from bot.services.ledger import rowcount
from bot.services.outbox import Outgoing, enqueue
from bot.services.resellers import ResellerView, require_by_telegram_id
from models import (
    EntryKind,
    PaymentMethod,
    ProofKind,
    Reseller,
    ResellerStatus,
    TopUpRequest,
    TopUpStatus,
    TxType,
)
from models.topup import RejectPrompt

MAX_REFERENCE = 128
MIN_REFERENCE = 4
MAX_REASON = 255


class TopUpError(Exception):
    """A top-up step was refused.

    ``code`` says why, for the presentation to word in the reader's language; ``params``
    are its plain values. The message is English, for logs and the operator CLI.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class ReasonTooLong(TopUpError):
    """A rejection reason over the limit; the admin can send a shorter one."""


class CannotApprove(TopUpError):
    """Approval refused for now; the request stays pending for another decision."""

    def __init__(self, code: str, message: str, request: RequestView) -> None:
        super().__init__(code, message, request_id=request.id)
        self.request = request


class OwnRequest(CannotApprove):
    """An admin who is also a reseller tapped Approve on their own request."""


class ResellerSuspended(CannotApprove):
    """The reseller is suspended: no credits are granted until they are active again."""


class AlreadyDecided(TopUpError):
    """The request left pending before this transition; ``request`` says how."""

    def __init__(self, request: RequestView) -> None:
        super().__init__(
            "already_decided",
            f"request #{request.id} is already {request.status}",
            request_id=request.id,
            status=request.status,
        )
        self.request = request


@dataclass(frozen=True)
class Limits:
    min_credits: int
    max_credits: int
    max_pending: int
    currency: str


@dataclass(frozen=True)
class Proof:
    kind: ProofKind
    file_id: str | None = None
    reference: str | None = None


@dataclass(frozen=True)
class RequestView:
    id: int
    reseller_id: int
    reseller_telegram_id: int
    reseller_name: str
    reseller_username: str | None
    credits: int
    unit_price: int
    total_price: int
    price_currency: str
    method_name: str
    proof: Proof
    status: TopUpStatus
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decided_by: int | None
    decided_by_name: str | None
    reject_reason: str | None
    admin_chat_id: int | None
    admin_message_id: int | None


@dataclass(frozen=True)
class Decision:
    request: RequestView
    balance: ledger.Balance | None  # the reseller's balance after an approval


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


# --- reading --------------------------------------------------------------------------


def _select_views() -> Any:
    return (
        select(TopUpRequest, Reseller, PaymentMethod.name)
        .join(Reseller, Reseller.id == TopUpRequest.reseller_id)
        .join(PaymentMethod, PaymentMethod.id == TopUpRequest.method_id)
    )


def _view(req: TopUpRequest, reseller: Reseller, method_name: str) -> RequestView:
    return RequestView(
        id=req.id,
        reseller_id=reseller.id,
        reseller_telegram_id=reseller.telegram_id,
        reseller_name=reseller.name,
        reseller_username=reseller.username,
        credits=req.credits,
        unit_price=req.unit_price,
        total_price=req.total_price,
        price_currency=req.price_currency,
        method_name=method_name,
        proof=Proof(ProofKind(req.proof_kind), req.proof_file_id, req.proof_reference),
        status=TopUpStatus(req.status),
        created_at=req.created_at,
        decided_at=req.decided_at,
        decided_by=req.decided_by,
        decided_by_name=req.decided_by_name,
        reject_reason=req.reject_reason,
        admin_chat_id=req.admin_chat_id,
        admin_message_id=req.admin_message_id,
    )


async def _load(session: AsyncSession, request_id: int) -> RequestView | None:
    row = (
        await session.execute(
            _select_views()
            .where(TopUpRequest.id == request_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return None if row is None else _view(*row)


async def _require(session: AsyncSession, request_id: int) -> RequestView:
    found = await _load(session, request_id)
    if found is None:
        raise TopUpError(
            "unknown_request", f"There is no top-up request #{request_id}.", request_id=request_id
        )
    return found


async def get_request(db: Database, request_id: int) -> RequestView | None:
    async with db.transaction() as session:
        return await _load(session, request_id)


async def find_by_key(db: Database, key: str) -> RequestView | None:
    async with db.transaction() as session:
        request_id = await session.scalar(
            select(TopUpRequest.id).where(TopUpRequest.idempotency_key == key)
        )
        return None if request_id is None else await _load(session, request_id)


async def list_for_reseller(
    db: Database, telegram_id: int, *, limit: int = 200
) -> list[RequestView]:
    """The reseller's latest requests, newest first."""
    async with db.transaction() as session:
        rows = await session.execute(
            _select_views()
            .where(Reseller.telegram_id == telegram_id)
            .order_by(TopUpRequest.id.desc())
            .limit(limit)
        )
        return [_view(*row) for row in rows]


async def list_pending(db: Database, *, limit: int | None = None) -> list[RequestView]:
    """Every request waiting for an admin (or the ``limit`` oldest), oldest first."""
    async with db.transaction() as session:
        rows = await session.execute(
            _select_views()
            .where(TopUpRequest.status == TopUpStatus.PENDING)
            .order_by(TopUpRequest.id)
            .limit(limit)
        )
        return [_view(*row) for row in rows]


async def count_pending(session: AsyncSession, reseller_id: int) -> int:
    return (
        await session.scalar(
            select(func.count())
            .select_from(TopUpRequest)
            .where(
                TopUpRequest.reseller_id == reseller_id,
                TopUpRequest.status == TopUpStatus.PENDING,
            )
        )
        or 0
    )


# --- the reseller's side ----------------------------------------------------------------


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
            return await _require(session, existing), False
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
        return await _require(session, request.id), True

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
        found = await _load(session, request_id)
        # Someone else's request looks exactly like a missing one.
        if found is None or found.reseller_id != reseller.id:
            raise TopUpError(
                "not_own_request", "You have no such top-up request.", request_id=request_id
            )
        await _transition(session, found, TopUpStatus.CANCELLED, now=now)
        return await _require(session, request_id)


# --- the admins' side ------------------------------------------------------------------


async def _transition(
    session: AsyncSession,
    request: RequestView,
    status: TopUpStatus,
    *,
    now: dt.datetime,
    admin_id: int | None = None,
    admin_name: str | None = None,
    reason: str | None = None,
) -> None:
    moved = await session.execute(
        update(TopUpRequest)
        .where(TopUpRequest.id == request.id, TopUpRequest.status == TopUpStatus.PENDING)
        .values(
            status=status,
            decided_at=now,
            decided_by=admin_id,
            decided_by_name=admin_name,
            reject_reason=reason,
        )
        .execution_options(synchronize_session=False)
    )
    if rowcount(moved) != 1:
        raise AlreadyDecided(await _require(session, request.id))


async def approve(
    db: Database, *, request_id: int, admin_id: int, admin_name: str, now: dt.datetime
) -> Decision:
    """Approve once, grant the credits and queue the reseller's notice, in one transaction.

    Refused, the request staying pending: an admin's own request (another admin must
    decide it), and any request of a suspended reseller.
    """

    async def _approve(session: AsyncSession) -> Decision:
        request = await _require(session, request_id)
        if request.status != TopUpStatus.PENDING:
            raise AlreadyDecided(request)
        if request.reseller_telegram_id == admin_id:
            raise OwnRequest(
                "own_request",
                f"Top-up #{request.id} is your own request: another admin must decide it.",
                request,
            )
        # Locked, as a submission locks it: a suspension cannot slip in before the grant.
        # (FOR NO KEY UPDATE: a racing rejection's log line, which refers to the reseller,
        # would otherwise deadlock against this lock.)
        status = await session.scalar(
            select(Reseller.status)
            .where(Reseller.id == request.reseller_id)
            .with_for_update(key_share=True)
        )
        if status != ResellerStatus.ACTIVE:
            raise ResellerSuspended(
                "reseller_suspended",
                f"{request.reseller_name} is suspended: top-up #{request.id} stays pending. "
                "Reactivate the reseller to approve it, or reject it.",
                request,
            )
        await _transition(
            session, request, TopUpStatus.APPROVED, now=now,
            admin_id=admin_id, admin_name=admin_name,
        )  # fmt: skip
        account_id = await ledger.reseller_account_id(session, request.reseller_id)
        movement = await ledger.grant(
            session,
            account_id=account_id,
            amount=request.credits,
            kind=EntryKind.TOPUP,
            tx_type=TxType.PURCHASE,
            actor=f"tg:{admin_id}",
            key=f"topup:{request.id}",
            now=now,
            comment=f"Top-up #{request.id} via {request.method_name}"[: ledger.MAX_COMMENT],
            related=f"topup:{request.id}",
        )
        await session.execute(
            update(TopUpRequest)
            .where(TopUpRequest.id == request.id)
            .values(transfer_id=movement.transfer_id)
        )
        balance = await ledger.balance(session, account_id)
        await _log_decision(
            session, request, TopUpStatus.APPROVED, admin_id, admin_name, now,
            after={"credits": request.credits, "balance": balance.balance},
        )  # fmt: skip
        notice = {
            "request_id": request.id,
            "credits": request.credits,
            "balance": balance.balance,
            "available": balance.available,
        }
        await _tell_reseller(session, request, Kind.TOPUP_APPROVED, notice, now)
        return Decision(request=await _require(session, request.id), balance=balance)

    return await db.run(_approve)


async def reject(
    db: Database,
    *,
    request_id: int,
    admin_id: int,
    admin_name: str,
    reason: str | None,
    now: dt.datetime,
) -> Decision:
    """Reject once and queue the reseller's notice, in one transaction."""
    reason = reason.strip() if reason else None
    if reason is not None and len(reason) > MAX_REASON:
        raise ReasonTooLong(
            "reason_too_long",
            f"Keep the reason under {MAX_REASON} characters; send it again.",
            length=len(reason),
            limit=MAX_REASON,
        )
    async with db.transaction() as session:
        request = await _require(session, request_id)
        await _transition(
            session, request, TopUpStatus.REJECTED, now=now,
            admin_id=admin_id, admin_name=admin_name, reason=reason or None,
        )  # fmt: skip
        await _log_decision(
            session, request, TopUpStatus.REJECTED, admin_id, admin_name, now,
            after={"credits": request.credits}, reason=reason or None,
        )  # fmt: skip
        notice = {"request_id": request.id, "credits": request.credits, "reason": reason or None}
        await _tell_reseller(session, request, Kind.TOPUP_REJECTED, notice, now)
        return Decision(request=await _require(session, request_id), balance=None)


async def _log_decision(
    session: AsyncSession,
    request: RequestView,
    status: TopUpStatus,
    admin_id: int,
    admin_name: str,
    now: dt.datetime,
    *,
    after: dict[str, Any],
    reason: str | None = None,
) -> None:
    """The action log's line for a decision, written with it (so once, like the decision)."""
    await admin_log.record(
        session,
        actor=f"tg:{admin_id}",
        action=f"topup_{status.value}",
        now=now,
        reseller_id=request.reseller_id,
        reason=reason,
        before={"request_id": request.id, "status": TopUpStatus.PENDING.value},
        after={"request_id": request.id, "status": status.value, "admin_name": admin_name} | after,
    )


# --- asking for a rejection reason ------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """A message that asked for a rejection reason: its request, and whether it is open."""

    request_id: int
    open: bool


async def open_reject_prompt(
    db: Database, *, chat_id: int, message_id: int, request_id: int, now: dt.datetime
) -> None:
    """Remember that ``message_id`` asks for the reason request ``request_id`` is rejected."""
    async with db.transaction() as session:
        session.add(
            RejectPrompt(
                chat_id=chat_id, message_id=message_id, request_id=request_id, created_at=now
            )
        )


async def reject_prompt(db: Database, *, chat_id: int, message_id: int) -> Prompt | None:
    """The prompt a reply answers, or None if that message was never one."""
    async with db.transaction() as session:
        found = await session.get(RejectPrompt, (chat_id, message_id))
        return None if found is None else Prompt(found.request_id, found.closed_at is None)


async def close_reject_prompt(
    db: Database, *, chat_id: int, message_id: int, now: dt.datetime
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(RejectPrompt)
            .where(
                RejectPrompt.chat_id == chat_id,
                RejectPrompt.message_id == message_id,
                RejectPrompt.closed_at.is_(None),
            )
            .values(closed_at=now)
        )


async def _tell_reseller(
    session: AsyncSession,
    request: RequestView,
    kind: Kind,
    payload: dict[str, Any],
    now: dt.datetime,
) -> None:
    """Queue the reseller's notice of a decision; one per request, whatever happens."""
    notice = Outgoing(
        key=f"{kind}:{request.id}",
        chat_id=request.reseller_telegram_id,
        kind=kind,
        payload=payload,
    )
    await enqueue(session, [notice], now)


async def current_balance(db: Database, reseller_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        return await ledger.balance(session, await ledger.reseller_account_id(session, reseller_id))
