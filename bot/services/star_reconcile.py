"""Reconciling Stars payments with Telegram's own record (``getStarTransactions``).

The caller pages through Telegram's transactions and hands them here as plain values;
this compares them with the payments and refunds recorded here for a period and returns
the differences, for the admin group. Nothing is changed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import or_, select

from bot.db import Database
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from models import StarPayment, StarState


@dataclass(frozen=True)
class TelegramTransaction:
    """One StarTransaction: ``incoming`` (a user's payment) or outgoing (a refund)."""

    id: str
    amount: int
    date: dt.datetime
    incoming: bool
    user_id: int | None = None
    payload: str | None = None


@dataclass(frozen=True)
class Difference:
    kind: str  # see Differences
    charge_id: str
    stars: int
    payment_id: int | None = None


@dataclass(frozen=True)
class Differences:
    since: dt.datetime
    until: dt.datetime
    items: list[Difference] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.items


# Kinds of difference.
PAID_NOT_RECORDED = "paid_not_recorded"  # Telegram took Stars the ledger has no payment for
RECORDED_NOT_PAID = "recorded_not_paid"  # a payment here Telegram does not list
REFUND_NOT_RECORDED = "refund_not_recorded"  # Telegram refunded, credits not taken back here
REFUND_NOT_MADE = "refund_not_made"  # refunded here (or pending), no refund at Telegram
AMOUNT_DIFFERS = "amount_differs"  # both know the payment, for different amounts


def _in(moment: dt.datetime | None, since: dt.datetime, until: dt.datetime) -> bool:
    return moment is not None and since <= moment < until


async def compare(
    db: Database,
    transactions: list[TelegramTransaction],
    *,
    since: dt.datetime,
    until: dt.datetime,
) -> Differences:
    """What Telegram and the ledger disagree on for payments and refunds in [since, until)."""
    async with db.transaction() as session:
        rows = list(
            await session.scalars(
                select(StarPayment).where(
                    StarPayment.telegram_payment_charge_id.is_not(None),
                    or_(
                        StarPayment.paid_at >= since - dt.timedelta(days=1),
                        StarPayment.refunded_at >= since,
                        StarPayment.state == StarState.REFUND_PENDING,
                    ),
                )
            )
        )
        listed = [t.id for t in transactions]
        if listed:
            rows += list(
                await session.scalars(
                    select(StarPayment).where(
                        StarPayment.telegram_payment_charge_id.in_(listed),
                        StarPayment.id.not_in([r.id for r in rows] or [0]),
                    )
                )
            )
    ours = {r.telegram_payment_charge_id: r for r in rows if r.telegram_payment_charge_id}
    paid = {t.id: t for t in transactions if t.incoming}
    refunds = {t.id: t for t in transactions if not t.incoming}
    items: list[Difference] = []
    for charge, tx in paid.items():
        if not _in(tx.date, since, until):
            continue
        row = ours.get(charge)
        if row is None:
            items.append(Difference(PAID_NOT_RECORDED, charge, tx.amount))
        elif row.stars != tx.amount:
            items.append(Difference(AMOUNT_DIFFERS, charge, tx.amount, row.id))
    for charge, tx in refunds.items():
        if not _in(tx.date, since, until):
            continue
        row = ours.get(charge)
        if row is None or row.state != StarState.REFUNDED:
            items.append(
                Difference(REFUND_NOT_RECORDED, charge, tx.amount, row.id if row else None)
            )
    for charge, row in ours.items():
        if _in(row.paid_at, since, until) and charge not in paid:
            items.append(Difference(RECORDED_NOT_PAID, charge, row.stars, row.id))
        pending = row.state == StarState.REFUND_PENDING
        if (pending or _in(row.refunded_at, since, until)) and charge not in refunds:
            items.append(Difference(REFUND_NOT_MADE, charge, row.stars, row.id))
    return Differences(since=since, until=until, items=items)


async def queue_report(
    db: Database, found: Differences, *, chat_id: int | None, now: dt.datetime
) -> int:
    """Post the differences to the admin group (once per period), only if there are some."""
    if found.clean or chat_id is None:
        return 0
    items = [
        {"kind": d.kind, "charge_id": d.charge_id, "stars": d.stars, "payment_id": d.payment_id}
        for d in found.items
    ]
    notice = Outgoing(
        key=f"{Kind.STARS_RECONCILE}:{found.since.isoformat()}",
        chat_id=chat_id,
        kind=Kind.STARS_RECONCILE,
        payload={"since": found.since.isoformat(), "until": found.until.isoformat(),
                 "items": items},
    )  # fmt: skip
    async with db.transaction() as session:
        return await enqueue(session, [notice], now)
