"""Top-up requests as the others see them: the view, the reads, and ``TopUpError``, which
every top-up step raises."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger
from models import PaymentMethod, ProofKind, Reseller, TopUpRequest, TopUpStatus


class TopUpError(Exception):
    """A top-up step was refused.

    ``code`` says why, for the presentation to word in the reader's language; ``params``
    are its plain values. The message is English, for logs and the operator CLI.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


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


async def load(session: AsyncSession, request_id: int) -> RequestView | None:
    row = (
        await session.execute(
            _select_views()
            .where(TopUpRequest.id == request_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return None if row is None else _view(*row)


async def require(session: AsyncSession, request_id: int) -> RequestView:
    found = await load(session, request_id)
    if found is None:
        raise TopUpError(
            "unknown_request", f"There is no top-up request #{request_id}.", request_id=request_id
        )
    return found


async def get_request(db: Database, request_id: int) -> RequestView | None:
    async with db.transaction() as session:
        return await load(session, request_id)


async def find_by_key(db: Database, key: str) -> RequestView | None:
    async with db.transaction() as session:
        request_id = await session.scalar(
            select(TopUpRequest.id).where(TopUpRequest.idempotency_key == key)
        )
        return None if request_id is None else await load(session, request_id)


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


async def current_balance(db: Database, reseller_id: int) -> ledger.Balance:
    async with db.transaction() as session:
        return await ledger.balance(session, await ledger.reseller_account_id(session, reseller_id))
