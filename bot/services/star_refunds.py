"""Refunding Stars top-ups: the credits come back out before the Stars go back.

An admin's refund is two-phase around Telegram's ``refundStarPayment``:

- ``begin_refund``: in one transaction, the credits are removed (only if the reseller's
  AVAILABLE balance still holds them all: credits already spent or held are never taken
  into the collection limit) and the payment becomes ``refund_pending``;
- then the caller asks Telegram, outside any transaction;
- ``finish_refund`` (Telegram refunded: ``refunded``, logged, the reseller told) or
  ``undo_refund`` (Telegram refused: the credits come back by a new ledger movement, the
  payment is ``paid`` again and the refusal is kept).

A refund Telegram reports itself (``refunded_payment``) is recorded the same way, except
that it cannot be refused: as much as the reseller's rules allow is removed (a prepaid
balance down to zero, a postpaid one down to minus its collection limit), and what could
not be removed is recorded as the shortfall and reported to the admin group.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, ledger, star_refund_claims
from bot.services.alerts import Kind
from bot.services.ledger import rowcount
from bot.services.outbox import Outgoing, enqueue
from bot.services.star_payments import notice_values
from bot.services.stars import Payment, StarsError, charge_key, require
from models import EntryKind, LedgerAccount, StarPayment, StarState, TxType

MAX_REASON = 255
MAX_ERROR = 255

# The key prefix of the credits given back when Telegram refused a refund: the same
# top-up restored, not a new one (the summaries count it once).
RESTORED = "stars-undo"


def check_reason(reason: str) -> str:
    """A refund's reason: required, one to 255 characters."""
    reason = " ".join(reason.split())
    if not reason:
        raise StarsError("reason_missing", "A refund needs a reason.")
    if len(reason) > MAX_REASON:
        raise StarsError(
            "reason_too_long", "Keep the reason under 255 characters.", limit=MAX_REASON
        )
    return reason


async def _locked_balance(session: AsyncSession, account_id: int) -> ledger.Balance:
    """The account, locked until the end of the transaction, and its balance."""
    await session.execute(
        select(LedgerAccount.id).where(LedgerAccount.id == account_id).with_for_update()
    )
    return await ledger.balance(session, account_id)


async def _take_back(
    session: AsyncSession, payment: Payment, amount: int, *, actor: str, key: str
) -> int:
    movement = await ledger.remove(
        session,
        account_id=payment.account_id,
        amount=amount,
        tx_type=TxType.PURCHASE,
        actor=actor,
        key=key,
        comment=f"Refund of Stars payment #{payment.id} ({payment.stars} Stars)",
        related=f"stars:{payment.id}",
    )
    return movement.transfer_id


async def begin_refund(
    db: Database,
    *,
    payment_id: int,
    admin_id: int,
    reason: str,
    now: dt.datetime,
) -> Payment:
    """Remove the payment's credits and mark it ``refund_pending``, or refuse.

    Refused (nothing changes): not a paid payment (``not_refundable``), or the credits are
    no longer all available (``credits_spent``, with how much is missing). A payment
    already ``refund_pending`` (decided before, Telegram's answer lost or a refusal) is
    refused as ``refund_pending``: its money moved and its reason is recorded already, so
    there is nothing to decide again, only Telegram to ask again (under the refund's
    lease, ``star_refund_claims.take``), as it was decided (a customer's renewal is not
    undone as a top-up is).
    """
    reason = check_reason(reason)

    async def _begin(session: AsyncSession) -> Payment:
        payment = await require(session, payment_id, lock=True)
        if payment.state == StarState.REFUND_PENDING:
            raise StarsError(
                "refund_pending",
                f"The refund of Stars payment #{payment.id} is decided already.",
                state=payment.state.value,
                payment_id=payment.id,
            )
        if payment.state != StarState.PAID:
            raise StarsError(
                "not_refundable",
                f"Stars payment #{payment.id} is {payment.state}, not paid.",
                state=payment.state.value,
                payment_id=payment.id,
            )
        balance = await _locked_balance(session, payment.account_id)
        if balance.available < payment.credits:
            raise StarsError(
                "credits_spent",
                f"Only {balance.available} of the {payment.credits} credits are available.",
                available=balance.available,
                credits=payment.credits,
                missing=payment.credits - max(balance.available, 0),
            )
        attempt = await session.scalar(
            select(StarPayment.refund_attempts).where(StarPayment.id == payment.id)
        )
        attempt = (attempt or 0) + 1
        transfer_id = await _take_back(
            session, payment, payment.credits, actor=f"tg:{admin_id}",
            key=f"stars-refund:{payment.id}:{attempt}",
        )  # fmt: skip
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment.id)
            .values(
                state=StarState.REFUND_PENDING,
                refund_attempts=attempt,
                refund_reason=reason,
                refund_actor=f"tg:{admin_id}",
                refund_transfer_id=transfer_id,
                refund_error=None,
                **star_refund_claims.begun(now),
            )
        )
        return await require(session, payment.id)

    return await db.run(_begin)


async def _refunded(
    session: AsyncSession, payment: Payment, *, actor: str, now: dt.datetime, shortfall: int = 0
) -> Payment:
    """refund_pending or paid -> refunded, logged and told, once."""
    moved = await session.execute(
        update(StarPayment)
        .where(
            StarPayment.id == payment.id,
            StarPayment.state.in_((StarState.REFUND_PENDING, StarState.PAID)),
        )
        .values(state=StarState.REFUNDED, refunded_at=now, refund_shortfall=shortfall)
    )
    if rowcount(moved) != 1:
        raise StarsError("not_pending", f"Stars payment #{payment.id} is not being refunded.")
    done = await require(session, payment.id)
    await admin_log.record(
        session,
        actor=actor,
        action="stars_refunded",
        now=now,
        reseller_id=payment.reseller_id,
        reason=done.refund_reason,
        before={"payment_id": payment.id, "state": payment.state.value},
        after={
            "payment_id": payment.id, "state": StarState.REFUNDED.value, "stars": payment.stars,
            "credits": payment.credits, "shortfall": shortfall,
        },
    )  # fmt: skip
    balance = await ledger.balance(session, payment.account_id)
    await _tell(
        session,
        Kind.STARS_REFUNDED,
        done,
        payment.reseller_telegram_id,
        {"removed": payment.credits - shortfall, "balance": balance.balance},
        now,
    )
    return done


async def _tell(
    session: AsyncSession,
    kind: Kind,
    payment: Payment,
    chat_id: int,
    values: Mapping[str, object],
    now: dt.datetime,
) -> None:
    """Queue the ``kind`` notice of ``payment`` to ``chat_id``, once per payment."""
    notice = Outgoing(
        key=f"{kind}:{payment.id}",
        chat_id=chat_id,
        kind=kind,
        payload={**notice_values(payment), **values},
    )
    await enqueue(session, [notice], now)


async def finish_refund(
    db: Database,
    *,
    payment_id: int,
    admin_id: int | None,
    now: dt.datetime,
    admin_chat_id: int | None = None,
) -> Payment:
    """Telegram refunded the Stars: the payment is ``refunded``, logged, the reseller told.
    ``admin_id`` None: the job finishing a refund the bot stopped in the middle of (or
    Telegram did not make at first); the admin group (``admin_chat_id``), which decided
    it and was last told it was pending, hears it is done, once (keyed by the payment).
    A payment ``paid`` again (its credits restored by another caller, refused while this
    one's call, under a lease run out, was refunding) has its credits taken back as for a
    refund Telegram reports itself, the admin group told of any shortfall."""
    async with db.transaction() as session:
        payment = await require(session, payment_id, lock=True)
        if payment.state == StarState.REFUNDED:  # Telegram's own message came first
            return payment
        actor = "system" if admin_id is None else f"tg:{admin_id}"
        if payment.state == StarState.PAID:
            # Restored meanwhile: another caller took the refund over once this one's
            # lease ran out and Telegram refused it. The Stars are back with the payer
            # all the same, so the credits go out again, as far as the rules allow.
            return await _refunded_after_all(
                session, payment, actor=actor, admin_chat_id=admin_chat_id, now=now
            )
        done = await _refunded(session, payment, actor=actor, now=now)
        if admin_id is None and admin_chat_id is not None:
            values = {
                "removed": payment.credits - done.refund_shortfall,
                "reason": done.refund_reason or "",
            }
            await _tell(session, Kind.STARS_REFUND_FINISHED, done, admin_chat_id, values, now)
        return done


async def undo_refund(db: Database, *, pending: Payment, error: str, now: dt.datetime) -> Payment:
    """Telegram refused the refund: the credits come back (a new movement), ``paid`` again.

    Only while ``pending`` (as its caller took it) still holds the refund's lease: once
    another caller has taken it over (the lease ran out while Telegram was slow to
    answer), that caller's refundStarPayment may be giving the Stars back, and credits
    restored beside it would be made up (``refund_running``; nothing changes)."""

    async def _undo(session: AsyncSession) -> Payment:
        payment = await require(session, pending.id, lock=True)
        if payment.state != StarState.REFUND_PENDING:
            raise StarsError("not_pending", f"Stars payment #{payment.id} is not being refunded.")
        if payment.refund_claimed_until != pending.refund_claimed_until:
            raise StarsError(
                "refund_running",
                f"The refund of Stars payment #{payment.id} was taken over by another caller.",
                state=payment.state.value,
            )
        attempt = await session.scalar(
            select(StarPayment.refund_attempts).where(StarPayment.id == payment.id)
        )
        await ledger.grant(
            session,
            account_id=payment.account_id,
            amount=payment.credits,
            kind=EntryKind.TOPUP,
            tx_type=TxType.PURCHASE,
            actor="telegram",
            key=f"{RESTORED}:{payment.id}:{attempt}",
            now=now,
            comment=f"Stars payment #{payment.id}: refund refused by Telegram, credits restored",
            related=f"stars:{payment.id}",
        )
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment.id)
            .values(
                state=StarState.PAID,
                refund_transfer_id=None,
                refund_error=error[:MAX_ERROR],
                refund_claimed_until=None,
            )
        )
        return await require(session, payment.id)

    return await db.run(_undo)


async def record_telegram_refund(
    db: Database,
    *,
    charge_id: str,
    admin_chat_id: int | None,
    now: dt.datetime,
) -> Payment:
    """A ``refunded_payment`` from Telegram: record it once, taking back what the rules allow.

    An admin's refund under way (``refund_pending``) is finished by it; a payment already
    refunded is left as it is.
    """

    async def _record(session: AsyncSession) -> Payment:
        found = await session.scalar(
            select(StarPayment.id).where(StarPayment.telegram_payment_charge_id == charge_id)
        )
        if found is None:
            raise StarsError("unknown_charge", f"No payment has charge id {charge_id!r}.")
        payment = await require(session, found, lock=True)
        if payment.state == StarState.REFUNDED:
            return payment
        if payment.state == StarState.REFUND_PENDING:
            return await _refunded(session, payment, actor="telegram", now=now)
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == payment.id)
            .values(refund_actor="telegram", refund_reason="refunded by Telegram")
        )
        return await _refunded_after_all(
            session, payment, actor="telegram", admin_chat_id=admin_chat_id, now=now
        )

    return await db.run(_record)


async def _refunded_after_all(
    session: AsyncSession,
    payment: Payment,
    *,
    actor: str,
    admin_chat_id: int | None,
    now: dt.datetime,
) -> Payment:
    """A ``paid`` payment (its account locked with it) whose Stars Telegram returned:
    as much of its credits taken back as the reseller's rules allow, the rest recorded as
    the shortfall, and the admins told. Keyed by the charge, whoever records it first
    (Telegram's ``refunded_payment``, or a refund asked for that came back late)."""
    balance = await _locked_balance(session, payment.account_id)
    take = min(payment.credits, max(balance.spendable, 0))
    if take > 0:
        assert payment.charge_id is not None
        await _take_back(
            session, payment, take, actor=actor, key=charge_key("stars-tgrefund", payment.charge_id)
        )
    done = await _refunded(session, payment, actor=actor, now=now, shortfall=payment.credits - take)
    if admin_chat_id is not None:
        values = {"removed": take, "shortfall": payment.credits - take}
        await _tell(session, Kind.STARS_TELEGRAM_REFUND, done, admin_chat_id, values, now)
    return done
