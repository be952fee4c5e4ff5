"""A Stars payment arrives: the credits are granted once per Telegram charge.

The payment grants the credits through the ledger keyed by ``telegram_payment_charge_id``,
so however often Telegram delivers the update they are granted once; the top-up is
recorded approved and the admin group gets an informational post through the outbox, in
the same transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import ledger
from bot.services.alerts import Kind
from bot.services.ledger import rowcount
from bot.services.outbox import Outgoing, enqueue
from bot.services.stars import CURRENCY, Payment, StarsError, by_payload, charge_key, require
from models import (
    EntryKind,
    PaymentMethod,
    ProofKind,
    StarPayment,
    StarState,
    TopUpRequest,
    TopUpStatus,
    TxType,
)


@dataclass(frozen=True)
class Paid:
    payment: Payment
    balance: ledger.Balance
    replayed: bool  # the same payment reported again: nothing was granted this time


async def record_payment(
    db: Database,
    *,
    charge_id: str,
    provider_charge_id: str | None,
    payload: str,
    telegram_id: int,
    total_amount: int,
    currency: str,
    admin_chat_id: int | None,
    now: dt.datetime,
) -> Paid:
    """Grant the credits of a successful payment, once per ``charge_id``.

    The payment is taken whatever became of the invoice since the pre-checkout (a cancel
    or a suspension racing it): Telegram has the reseller's Stars, so the credits are
    theirs, or an admin refunds them.
    """

    async def _record(session: AsyncSession) -> Paid:
        seen = await session.scalar(
            select(StarPayment.id).where(StarPayment.telegram_payment_charge_id == charge_id)
        )
        if seen is not None:
            payment = await require(session, seen)
            balance = await ledger.balance(session, payment.account_id)
            return Paid(payment, balance, replayed=True)
        found = await by_payload(session, payload, lock=True)
        if found is None:
            raise StarsError("unknown_payload", f"No invoice has payload {payload!r}.")
        if found.state not in (StarState.INVOICED, StarState.CANCELLED):
            raise StarsError(
                "paid_twice",
                f"Invoice #{found.id} was already paid with another charge.",
                payment_id=found.id,
            )
        if currency != CURRENCY or total_amount != found.stars:
            raise StarsError(
                "amount_mismatch",
                f"Invoice #{found.id} is for {found.stars} XTR, paid {total_amount} {currency}.",
                payment_id=found.id,
            )
        method = await session.get(PaymentMethod, found.method_id)
        assert method is not None
        request = TopUpRequest(
            reseller_id=found.reseller_id,
            credits=found.credits,
            unit_price=max(1, found.stars * 10_000 // found.credits),
            total_price=found.stars * 100,
            price_currency=CURRENCY,
            method_id=found.method_id,
            proof_kind=ProofKind.REFERENCE,
            proof_reference=charge_id[:128],
            status=TopUpStatus.APPROVED,
            idempotency_key=f"stars:{found.id}",
            created_at=found.created_at,
            decided_at=now,
            decided_by=telegram_id,
            decided_by_name="Telegram Stars",
        )
        session.add(request)
        await session.flush()
        movement = await ledger.grant(
            session,
            account_id=found.account_id,
            amount=found.credits,
            kind=EntryKind.TOPUP,
            tx_type=TxType.PURCHASE,
            actor=f"tg:{telegram_id}",
            key=charge_key("stars", charge_id),
            now=now,
            comment=f"Top-up #{request.id} paid with {found.stars} Stars via {method.name}"[
                : ledger.MAX_COMMENT
            ],
            related=f"topup:{request.id}",
        )
        request.transfer_id = movement.transfer_id
        moved = await session.execute(
            update(StarPayment)
            .where(StarPayment.id == found.id, StarPayment.state == found.state)
            .values(
                state=StarState.PAID,
                telegram_payment_charge_id=charge_id,
                provider_payment_charge_id=provider_charge_id,
                topup_request_id=request.id,
                grant_transfer_id=movement.transfer_id,
                paid_at=now,
            )
        )
        assert rowcount(moved) == 1, "the invoice row is locked"
        balance = await ledger.balance(session, found.account_id)
        payment = await require(session, found.id)
        if admin_chat_id is not None:
            await enqueue(
                session,
                [
                    Outgoing(
                        key=f"{Kind.STARS_PAID}:{payment.id}",
                        chat_id=admin_chat_id,
                        kind=Kind.STARS_PAID,
                        payload=notice_values(payment) | {"balance": balance.balance},
                    )
                ],
                now,
            )
        return Paid(payment, balance, replayed=False)

    return await db.run(_record)


def notice_values(payment: Payment) -> dict[str, object]:
    """A payment's plain values for a notice."""
    return {
        "payment_id": payment.id,
        "request_id": payment.topup_request_id,
        "name": payment.reseller_name,
        "telegram_id": payment.reseller_telegram_id,
        "stars": payment.stars,
        "credits": payment.credits,
    }


async def recent(db: Database, *, limit: int = 10) -> list[Payment]:
    """The latest paid (or refunded) payments, newest first, for the admins' list; and
    the refunds still pending, however old (up to ``limit`` more), for the admins to ask
    Telegram again."""
    newest = (StarPayment.paid_at.desc(), StarPayment.id.desc())
    async with db.transaction() as session:
        ids = list(
            await session.scalars(
                select(StarPayment.id)
                .where(StarPayment.paid_at.is_not(None))
                .order_by(*newest)
                .limit(limit)
            )
        )
        pending = await session.scalars(
            select(StarPayment.id)
            .where(StarPayment.state == StarState.REFUND_PENDING, StarPayment.id.not_in(ids))
            .order_by(*newest)
            .limit(limit)
        )
        return [await require(session, i) for i in [*ids, *pending]]
