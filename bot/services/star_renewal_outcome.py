"""What becomes of a customer's paid renewal or change of package: done, waiting for the
panel, or refunded.

The renewal runs through ``sales.sell`` keyed by the payment (``stars-renewal:<id>``), so
a repeated update or a retry after a crash finds the same order and charges once. When it
cannot be done (refused by the panel, the reseller suspended, not enough credit even with
the revenue, the plan withdrawn) the customer is refunded:

- ``begin_refund``: the revenue credit is taken back (as much as is still there) and the
  payment becomes ``refund_pending``, in one transaction;
- then the caller asks Telegram (``refundStarPayment``), outside any transaction;
- ``finish_refund`` (``refunded``, logged, the reseller and the admins told) or
  ``refund_failed`` (still pending, the admins told, to refund by hand from /stars).

A panel that did not answer leaves the order to reconciliation; ``failed_renewals`` finds
the paid renewals whose order it then released, for the job to refund.

A payment recorded just before the bot stopped (its sale never opened, its refund never
begun) is found by ``stranded`` once older than a short grace, and completed by a job
through ``renew`` and the same refund path: keyed by the payment, so nothing twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Select, String, cast, exists, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, ledger, sales, star_refund_claims
from bot.services.alerts import Kind
from bot.services.customers import CustomerError
from bot.services.ledger import LedgerError, rowcount
from bot.services.outbox import Outgoing, enqueue
from bot.services.panel_provider import Panels
from bot.services.portal import ORDER_KEY, PAID_BY_CUSTOMER
from bot.services.provisioning import Provider
from bot.services.sale_errors import ANOTHER_SALE, PlanChanged, SaleInDoubt, SaleInProgress
from bot.services.sale_settlement import SaleResult
from bot.services.stars import Payment, StarsError, require
from models import (
    Customer,
    LedgerAccount,
    OrderStatus,
    Plan,
    StarPayment,
    StarPurpose,
    StarState,
    SubscriptionOrder,
    TxType,
)

MAX_ERROR = 255
# A renewal paid for a plan the customer has left (a change of package since): selling it
# would move the customer back, so it is refunded (and a subscription's charge stopped).
PLAN_CHANGED = PlanChanged.code


class Outcome(StrEnum):
    RENEWED = "renewed"
    IN_DOUBT = "in_doubt"  # the panel did not answer: reconciliation settles it
    REFUND = "refund"  # cannot be done: the caller refunds (begin_refund, Telegram, finish)
    NOTHING = "nothing"  # not a paid renewal (already refunded, say)


@dataclass(frozen=True)
class Renewal:
    outcome: Outcome
    payment: Payment
    result: SaleResult | None = None
    reason: str = ""  # why it cannot be done: the sale's error code
    stop_subscription: int | None = None  # a subscription to cancel at Telegram (PLAN_CHANGED)


def order_key(payment_id: int) -> str:
    return f"{ORDER_KEY}{payment_id}"


async def renew(
    db: Database,
    provider: Provider,
    *,
    payment_id: int,
    now: dt.datetime,
    provider_seconds: float,
    panels: Panels | None,
    tell_payer: bool = False,
) -> Renewal:
    """Run the paid renewal once (the reseller is charged the plan's price) and tell the
    reseller (and the customer, ``tell_payer``, when it is not there to be answered); or
    say it must be refunded, or that the panel's answer is awaited.

    A renewal is of the plan paid for only: a customer on another plan since (a change
    made after the pre-checkout) is refunded (``plan_changed``), not moved back.

    A paid change of package is the same sale on the new plan (as the reseller's Approve
    sells it), refused for a subscription cancelled since the payment, and for one on
    that plan already (another payment made the change: this one is refunded)."""
    payment = await _payment(db, payment_id)
    if payment.state != StarState.PAID or payment.purpose not in PAID_BY_CUSTOMER:
        return Renewal(Outcome.NOTHING, payment)
    assert payment.customer_id is not None and payment.plan_id is not None
    subscription_id = await _subscription_of(db, payment.id)
    change = payment.purpose == StarPurpose.PLAN_CHANGE
    from_plan = await _plan_name(db, payment.customer_id) if change else ""
    try:
        result = await sales.sell(
            db, provider, telegram_id=payment.reseller_telegram_id, plan_id=payment.plan_id,
            key=order_key(payment.id), now=now, provider_seconds=provider_seconds,
            customer_id=payment.customer_id, panels=panels, refuse_cancelled=change,
            same_plan_only=not change, refuse_same_plan=change,
        )  # fmt: skip
    except SaleInProgress as exc:
        if exc.code == ANOTHER_SALE:
            # Another sale of the customer is pending: this payment's never started, and
            # nothing would start it later, so its Stars go back now.
            return Renewal(Outcome.REFUND, payment, reason=exc.code)
        return Renewal(Outcome.IN_DOUBT, payment)
    except SaleInDoubt:
        return Renewal(Outcome.IN_DOUBT, payment)
    except PlanChanged:
        return Renewal(
            Outcome.REFUND, payment, reason=PLAN_CHANGED, stop_subscription=subscription_id
        )
    except (CustomerError, LedgerError) as exc:
        return Renewal(Outcome.REFUND, payment, reason=str(getattr(exc, "code", "failed")))
    if not result.replayed:
        audiences = ["reseller", "customer"] if tell_payer else ["reseller"]
        async with db.transaction() as session:
            await enqueue(
                session, [_renewed_notice(payment, result, from_plan, a) for a in audiences], now
            )
    return Renewal(Outcome.RENEWED, payment, result)


async def _subscription_of(db: Database, payment_id: int) -> int | None:
    """The Stars subscription a charge belongs to (None: a single payment)."""
    async with db.transaction() as session:
        return await session.scalar(
            select(StarPayment.subscription_id).where(StarPayment.id == payment_id)
        )


async def _plan_name(db: Database, customer_id: int) -> str:
    async with db.transaction() as session:
        name = await session.scalar(
            select(Plan.name)
            .join(Customer, Customer.plan_id == Plan.id)
            .where(Customer.id == customer_id)
        )
        return name or ""


def _renewed_notice(
    payment: Payment, result: SaleResult, from_plan: str, audience: str
) -> Outgoing:
    """To the reseller (its margin), or to the customer who paid (``audience``)."""
    customer = audience == "customer"
    return Outgoing(
        key=f"{Kind.SELF_PAY_RENEWED}:{payment.id}" + (":customer" if customer else ""),
        chat_id=payment.payer_telegram_id if customer else payment.reseller_telegram_id,
        kind=Kind.SELF_PAY_RENEWED,
        payload={
            "audience": audience,
            "payment_id": payment.id,
            "username": result.customer.username,
            "plan": result.customer.plan.name,
            "expires_at": result.customer.expires_at.isoformat(),
            "stars": payment.stars,
            "revenue": payment.credits,
            "charged": result.price,
            "balance": result.balance.balance,
            "from_plan": from_plan,  # a change of package: the plan it left
        },
    )


async def _payment(db: Database, payment_id: int) -> Payment:
    async with db.transaction() as session:
        return await require(session, payment_id)


async def begin_refund(db: Database, *, payment_id: int, reason: str, now: dt.datetime) -> Payment:
    """Take the revenue back (what is still there) and mark the payment ``refund_pending``.

    A payment already pending is returned as it is, for the caller to ask Telegram again
    once it holds the refund's lease (``refund_running`` while another caller asks).
    """

    async def _begin(session: AsyncSession) -> Payment:
        payment = await require(session, payment_id, lock=True)
        if payment.state == StarState.REFUND_PENDING:
            if not await star_refund_claims.claim(session, payment.id, now):
                raise StarsError("refund_running", f"Stars payment #{payment.id} is in hand.")
            return await require(session, payment.id)  # with its caller's lease
        if payment.state != StarState.PAID:
            raise StarsError("not_refundable", f"Stars payment #{payment.id} is not paid.")
        await session.execute(
            select(LedgerAccount.id).where(LedgerAccount.id == payment.account_id).with_for_update()
        )
        balance = await ledger.balance(session, payment.account_id)
        take = min(payment.credits, max(balance.spendable, 0))
        transfer_id = None
        if take > 0:
            movement = await ledger.remove(
                session,
                account_id=payment.account_id,
                amount=take,
                tx_type=TxType.PURCHASE,
                actor="system",
                key=f"stars-refund:{payment.id}:auto",
                comment=f"{payment.purpose.value.capitalize()} paid with Stars #{payment.id} "
                "not done: revenue taken back",
                related=f"stars:{payment.id}",
            )
            transfer_id = movement.transfer_id
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment.id)
            .values(
                state=StarState.REFUND_PENDING,
                refund_attempts=StarPayment.refund_attempts + 1,
                refund_reason=f"{payment.purpose.value} not done: {reason}"[:255],
                refund_actor="system",
                refund_transfer_id=transfer_id,
                refund_shortfall=payment.credits - take,
                **star_refund_claims.begun(now),
            )
        )
        return await require(session, payment.id)

    return await db.run(_begin)


async def _notice_values(session: AsyncSession, payment: Payment) -> dict[str, object]:
    username = await session.scalar(
        select(Customer.username).where(Customer.id == payment.customer_id)
    )
    subscription_id = await session.scalar(
        select(StarPayment.subscription_id).where(StarPayment.id == payment.id)
    )
    return {
        "payment_id": payment.id,
        "name": payment.reseller_name,
        "telegram_id": payment.reseller_telegram_id,
        "username": username or "",
        "stars": payment.stars,
        "reason": payment.refund_reason or "",
        "purpose": payment.purpose.value,  # a renewal's or a change of package's
        "subscription": subscription_id is not None,  # a Stars subscription's charge
    }


async def finish_refund(
    db: Database,
    *,
    payment_id: int,
    admin_chat_id: int | None,
    now: dt.datetime,
    tell_payer: bool = False,
) -> Payment:
    """Telegram gave the Stars back: ``refunded``, logged; the reseller and admins told
    (and the customer, ``tell_payer``, when it is not there to be answered)."""
    async with db.transaction() as session:
        payment = await require(session, payment_id, lock=True)
        if payment.state == StarState.REFUNDED:
            return payment
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment.id, StarPayment.state == StarState.REFUND_PENDING)
            .values(state=StarState.REFUNDED, refunded_at=now, refund_error=None)
        )
        done = await require(session, payment.id)
        await admin_log.record(
            session, actor="system", action="stars_refunded", now=now,
            reseller_id=payment.reseller_id, reason=done.refund_reason,
            before={"payment_id": payment.id, "state": payment.state.value},
            after={"payment_id": payment.id, "state": done.state.value, "stars": done.stars},
        )  # fmt: skip
        values = await _notice_values(session, done)
        chats = [(payment.reseller_telegram_id, "reseller")]
        if admin_chat_id is not None:
            chats.append((admin_chat_id, "admins"))
        if tell_payer:
            chats.append((payment.payer_telegram_id, "customer"))
        await enqueue(
            session,
            [
                Outgoing(
                    key=f"{Kind.SELF_PAY_REFUNDED}:{payment.id}:{audience}",
                    chat_id=chat,
                    kind=Kind.SELF_PAY_REFUNDED,
                    payload=values | {"audience": audience},
                )
                for chat, audience in chats
            ],
            now,
        )
        return done


async def refund_failed(
    db: Database, *, pending: Payment, error: str, admin_chat_id: int | None, now: dt.datetime
) -> Payment:
    """Telegram did not refund: the payment stays pending, its lease given back (the job
    asks Telegram again), and the admins are told, if ``admin_chat_id``. Nothing is
    recorded once another caller has taken the lease over (its call may be refunding)."""
    async with db.transaction() as session:
        failed = await session.execute(
            update(StarPayment)
            .where(star_refund_claims.held(pending.id, pending.refund_claimed_until))
            .values(refund_error=error[:MAX_ERROR], refund_claimed_until=None)
        )
        payment = await require(session, pending.id)
        if rowcount(failed) == 1 and admin_chat_id is not None:
            values = await _notice_values(session, payment) | {"error": error[:MAX_ERROR]}
            await enqueue(
                session,
                [
                    Outgoing(
                        key=f"{Kind.SELF_PAY_REFUND_FAILED}:{payment.id}:{now.isoformat()}",
                        chat_id=admin_chat_id,
                        kind=Kind.SELF_PAY_REFUND_FAILED,
                        payload=values,
                    )
                ],
                now,
            )
        return payment


def _paid_with_order(status: OrderStatus) -> Select[int]:
    """A customer's paid renewals or changes whose order (keyed by the payment) is in
    ``status``."""
    return (
        select(StarPayment.id)
        .join(
            SubscriptionOrder,
            SubscriptionOrder.idempotency_key
            == literal(ORDER_KEY) + cast(StarPayment.id, String(20)),
        )
        .where(
            StarPayment.purpose.in_(PAID_BY_CUSTOMER),
            StarPayment.state == StarState.PAID,
            SubscriptionOrder.status == status,
        )
    )


async def failed_renewals(db: Database) -> list[int]:
    """Paid renewals whose order was released (by reconciliation, say): to refund."""
    async with db.transaction() as session:
        return list(await session.scalars(_paid_with_order(OrderStatus.FAILED)))


async def in_doubt(session: AsyncSession, customer_id: int) -> bool:
    """Whether a renewal or change the customer paid is still being made: paid, its order
    pending (the panel's answer awaited, or reconciliation's). Another sale of the
    customer cannot start beside it, so another payment now would only be refunded."""
    found = await session.scalar(
        _paid_with_order(OrderStatus.PENDING).where(StarPayment.customer_id == customer_id).limit(1)
    )
    return found is not None


async def stranded(
    db: Database, *, paid_before: dt.datetime, paid_since: dt.datetime | None = None
) -> list[int]:
    """Paid renewals and changes left with nothing under way: recorded before
    ``paid_before`` (older than a grace, so none still in hand) and since ``paid_since``
    (the window looked at; a done one stays ``paid`` for ever), still ``paid`` (no refund
    begun) and no order keyed by them (no sale opened). The bot stopped between recording
    one and its sale or refund; ``renew`` completes it, oldest first."""
    order = exists().where(
        SubscriptionOrder.idempotency_key == literal(ORDER_KEY) + cast(StarPayment.id, String(20))
    )
    window = [StarPayment.paid_at >= paid_since] if paid_since is not None else []
    async with db.transaction() as session:
        found = await session.scalars(
            select(StarPayment.id)
            .where(
                StarPayment.purpose.in_(PAID_BY_CUSTOMER),
                StarPayment.state == StarState.PAID,
                StarPayment.paid_at < paid_before,
                *window,
                ~order,
            )
            .order_by(StarPayment.paid_at, StarPayment.id)
        )
        return list(found)
