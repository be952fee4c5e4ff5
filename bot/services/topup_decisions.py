"""The admins' side of a top-up request: approve or reject it once, the reseller told in
the same transaction, and the prompt that asks an admin for a rejection reason. A
reseller's cancel goes through the same ``transition`` out of pending."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, ledger
from bot.services.alerts import Kind
from bot.services.ledger import rowcount
from bot.services.outbox import Outgoing, enqueue
from bot.services.topup_reads import RequestView, TopUpError, require
from models import EntryKind, Reseller, ResellerStatus, TopUpRequest, TopUpStatus, TxType
from models.topup import RejectPrompt

MAX_REASON = 255


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
class Decision:
    request: RequestView
    balance: ledger.Balance | None  # the reseller's balance after an approval


async def transition(
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
        raise AlreadyDecided(await require(session, request.id))


async def approve(
    db: Database, *, request_id: int, admin_id: int, admin_name: str, now: dt.datetime
) -> Decision:
    """Approve once, grant the credits and queue the reseller's notice, in one transaction.

    Refused, the request staying pending: an admin's own request (another admin must
    decide it), and any request of a suspended reseller.
    """

    async def _approve(session: AsyncSession) -> Decision:
        request = await require(session, request_id)
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
        await transition(
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
        return Decision(request=await require(session, request.id), balance=balance)

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
        request = await require(session, request_id)
        await transition(
            session, request, TopUpStatus.REJECTED, now=now,
            admin_id=admin_id, admin_name=admin_name, reason=reason or None,
        )  # fmt: skip
        await _log_decision(
            session, request, TopUpStatus.REJECTED, admin_id, admin_name, now,
            after={"credits": request.credits}, reason=reason or None,
        )  # fmt: skip
        notice = {"request_id": request.id, "credits": request.credits, "reason": reason or None}
        await _tell_reseller(session, request, Kind.TOPUP_REJECTED, notice, now)
        return Decision(request=await require(session, request_id), balance=None)


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
