"""The reads behind the charts, each one short transaction.

The database sums the rows per bucket (``GROUP BY``), so a chart reads a few rows per
bucket however many movements its period holds. A row's bucket is found by comparing its
time with the instants the buckets start at (local midnights of the business's time zone,
in UTC), a search written as nested ``CASE``: the same on SQLite and PostgreSQL, with no
time zone arithmetic in either.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    and_,
    case,
    exists,
    func,
    literal_column,
    or_,
    select,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db import Database
from bot.services.resellers import ResellerView
from bot.services.statements import Period
from models import (
    AccountKind,
    Customer,
    CustomerStatus,
    EntryKind,
    LedgerAccount,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    Reseller,
    StarPayment,
    StarState,
    SubscriptionOrder,
    SystemAccount,
    TopUpRequest,
    TopUpStatus,
    Transfer,
)


class Step(StrEnum):
    DAY = "d"
    WEEK = "w"  # from Monday
    MONTH = "m"


@dataclass(frozen=True)
class Audience:
    """Whose figures a chart holds: ``reseller_ids`` (database ids), None for everyone's."""

    reseller_ids: frozenset[int] | None
    admin: bool
    reseller: ResellerView | None  # the reseller named or asking, if one


Sums = tuple[tuple[str, ...], tuple[tuple[int, ...], ...], tuple[int, ...]]


def _start(day: dt.date, step: Step) -> dt.date:
    if step == Step.WEEK:
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1) if step == Step.MONTH else day


def buckets(period: Period, step: Step) -> tuple[dt.date, ...]:
    """The first day of each step in ``period`` (the first one cut at the period's start)."""
    found: list[dt.date] = []
    day = period.first
    while day <= period.last:
        first = max(_start(day, step), period.first)
        if not found or found[-1] != first:
            found.append(first)
        day += dt.timedelta(days=1)
    return tuple(found)


def _edges(period: Period, step: Step, zone: ZoneInfo) -> list[dt.datetime]:
    """The instants each bucket of ``period`` starts at, then the period's end."""
    firsts = buckets(period, step)
    starts = [dt.datetime.combine(d, dt.time(), zone).astimezone(dt.UTC) for d in firsts]
    return [*starts, period.bounds(zone)[1]]


def bucket_number(
    column: InstrumentedAttribute[Any] | ColumnElement[Any],
    period: Period,
    step: Step,
    zone: ZoneInfo,
) -> ColumnElement[int]:
    """The bucket of ``column`` (a moment at or after the period's start): 0 for the first
    step, ..., the number of buckets for a moment after the period. A bisection over the
    buckets' starts, so each row is compared a handful of times, not once per bucket."""
    edges = _edges(period, step, zone)

    def search(low: int, high: int) -> ColumnElement[int]:
        # The moment is in [edges[low], edges[high + 1]).
        if low == high:
            return literal_column(str(low), Integer)
        middle = (low + high + 1) // 2
        return case((column < edges[middle], search(low, middle - 1)), else_=search(middle, high))

    return search(0, len(edges) - 1)


def _of(column: InstrumentedAttribute[Any], where: Audience) -> ColumnElement[bool]:
    ids = where.reseller_ids
    return true() if ids is None else column.in_(sorted(ids))


def _between(
    column: InstrumentedAttribute[Any], period: Period, zone: ZoneInfo
) -> list[ColumnElement[bool]]:
    start, end = period.bounds(zone)
    return [column >= start, column < end]


async def sales(
    db: Database, where: Audience, period: Period, earlier: Period, step: Step, zone: ZoneInfo
) -> Sums:
    """Completed activations and renewals, by the day they completed, and their amount;
    the period before summed by the database."""
    done = [SubscriptionOrder.status == OrderStatus.COMPLETED,
            _of(SubscriptionOrder.reseller_id, where)]  # fmt: skip
    inner = (
        select(
            bucket_number(SubscriptionOrder.completed_at, period, step, zone).label("n"),
            SubscriptionOrder.kind,
            SubscriptionOrder.price,
        )
        .where(*done, *_between(SubscriptionOrder.completed_at, period, zone))
        .subquery()
    )
    rows_now = select(inner.c.n, inner.c.kind, func.count(), func.sum(inner.c.price)).group_by(
        inner.c.n, inner.c.kind
    )
    rows_then = (
        select(SubscriptionOrder.kind, func.count(), func.sum(SubscriptionOrder.price))
        .where(*done, *_between(SubscriptionOrder.completed_at, earlier, zone))
        .group_by(SubscriptionOrder.kind)
    )
    async with db.transaction() as session:
        rows = (await session.execute(rows_now)).all()
        totals = (await session.execute(rows_then)).all()
    keys = ("activations", "renewals", "amount")
    now_values = [[0] * len(buckets(period, step)) for _ in keys]
    for n, kind, count, amount in rows:
        now_values[0 if kind == OrderKind.ACTIVATION else 1][n] += int(count)
        now_values[2][n] += int(amount or 0)
    then = [0, 0, 0]
    for kind, count, amount in totals:
        then[0 if kind == OrderKind.ACTIVATION else 1] += int(count)
        then[2] += int(amount or 0)
    return keys, tuple(tuple(v) for v in now_values), tuple(then)


async def _system_accounts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(
        select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.kind == AccountKind.SYSTEM)
    )
    return {str(code): int(account) for code, account in rows.all()}


async def reseller_balances(
    session: AsyncSession, where: Audience, *, owing_only: bool = False
) -> dict[int, int]:
    """Balance by account, of the resellers in ``where`` (only those who may owe: a
    collection limit above zero)."""
    query = select(LedgerAccount.id, LedgerAccount.balance).where(
        LedgerAccount.kind == AccountKind.RESELLER, _of(LedgerAccount.reseller_id, where)
    )
    if owing_only:
        query = query.where(LedgerAccount.credit_limit > 0)
    rows = await session.execute(query)
    return {int(account): int(balance) for account, balance in rows.all()}


async def credits(
    db: Database, where: Audience, period: Period, earlier: Period, step: Step, zone: ZoneInfo
) -> Sums:
    """Credits issued to resellers (top-ups and added credit), spent on sales (less
    refunds and parents' margins), and expired; the period before summed by the database."""
    spending = (OrderKind.ACTIVATION.value, OrderKind.RENEWAL.value)
    returned = (EntryKind.REFUND.value, EntryKind.MARGIN.value)
    async with db.transaction() as session:
        system = await _system_accounts(session)
        issuance, sold = system[SystemAccount.ISSUANCE], system[SystemAccount.SALES]
        expired = system[SystemAccount.EXPIRED]
        # Which series a movement adds to; the other side is a reseller's account. Spent
        # is what the sales account kept, as in the daily summary: a refund, or a parent's
        # margin on its sub-reseller's sale, comes off it.
        series = case(
            (Transfer.from_account_id == issuance, 0),
            (and_(Transfer.to_account_id == sold, Transfer.kind.in_(spending)), 1),
            (and_(Transfer.from_account_id == sold, Transfer.kind.in_(returned)), 1),
            (Transfer.to_account_id == expired, 2),
        ).label("k")
        signed = case(
            (Transfer.from_account_id == sold, -Transfer.amount), else_=Transfer.amount
        ).label("amount")
        moving = [or_(Transfer.from_account_id.in_([issuance, sold]),
                      Transfer.to_account_id.in_([sold, expired]))]  # fmt: skip
        if where.reseller_ids is not None:
            ours = sorted(await reseller_balances(session, where))
            moving.append(or_(Transfer.from_account_id.in_(ours), Transfer.to_account_id.in_(ours)))
        n = bucket_number(Transfer.created_at, period, step, zone).label("n")
        inner = (
            select(n, series, signed)
            .where(*moving, *_between(Transfer.created_at, period, zone))
            .subquery()
        )  # fmt: skip
        rows = (await session.execute(
            select(inner.c.n, inner.c.k, func.sum(inner.c.amount))
            .where(inner.c.k.is_not(None))
            .group_by(inner.c.n, inner.c.k)
        )).all()  # fmt: skip
        before = (
            select(series, Transfer.amount)
            .where(*moving, *_between(Transfer.created_at, earlier, zone))
            .subquery()
        )
        totals = (await session.execute(
            select(before.c.k, func.sum(before.c.amount))
            .where(before.c.k.is_not(None))
            .group_by(before.c.k)
        )).all()  # fmt: skip
    keys = ("issued", "spent", "expired")
    now_values = [[0] * len(buckets(period, step)) for _ in keys]
    for n, k, amount in rows:
        now_values[k][n] += int(amount)
    then = [0, 0, 0]
    for k, amount in totals:
        then[k] += int(amount)
    return keys, tuple(tuple(v) for v in now_values), tuple(then)


async def top(
    db: Database, where: Audience, period: Period, zone: ZoneInfo, limit: int
) -> tuple[tuple[str, ...], tuple[int, ...], tuple[int, ...]]:
    """The resellers who sold most in ``period``: names, amounts, orders (most first)."""
    amount = func.sum(SubscriptionOrder.price)
    query = (
        select(Reseller.name, amount, func.count())
        .join(Reseller, Reseller.id == SubscriptionOrder.reseller_id)
        .where(
            SubscriptionOrder.status == OrderStatus.COMPLETED,
            _of(SubscriptionOrder.reseller_id, where),
            *_between(SubscriptionOrder.completed_at, period, zone),
        )
        .group_by(Reseller.id, Reseller.name)
        .order_by(amount.desc(), Reseller.id)
        .limit(limit)
    )
    async with db.transaction() as session:
        rows = (await session.execute(query)).all()
    return (
        tuple(str(name) for name, _, _ in rows),
        tuple(int(total) for _, total, _ in rows),
        tuple(int(count) for _, _, count in rows),
    )


async def income(
    db: Database, where: Audience, period: Period, zone: ZoneInfo
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[int, ...]]:
    """Approved top-ups (Stars payments among them) by the day they were approved, per
    payment method and currency: names, currencies, totals in hundredths (most first).
    A Stars payment refunded to its payer is left out: that money was given back."""
    total = func.sum(TopUpRequest.total_price)
    refunded = exists().where(
        StarPayment.topup_request_id == TopUpRequest.id, StarPayment.state == StarState.REFUNDED
    )
    query = (
        select(PaymentMethod.name, TopUpRequest.price_currency, total)
        .join(PaymentMethod, PaymentMethod.id == TopUpRequest.method_id)
        .where(
            TopUpRequest.status == TopUpStatus.APPROVED,
            ~refunded,
            _of(TopUpRequest.reseller_id, where),
            *_between(TopUpRequest.decided_at, period, zone),
        )
        .group_by(PaymentMethod.id, PaymentMethod.name, TopUpRequest.price_currency)
        .order_by(total.desc(), PaymentMethod.id)
    )
    async with db.transaction() as session:
        rows = (await session.execute(query)).all()
    return (
        tuple(str(name) for name, _, _ in rows),
        tuple(str(currency) for _, currency, _ in rows),
        tuple(int(amount) for _, _, amount in rows),
    )


async def states(db: Database, where: Audience) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """How many customers are in each state, every state listed."""
    query = (
        select(Customer.status, func.count())
        .where(_of(Customer.reseller_id, where))
        .group_by(Customer.status)
    )
    async with db.transaction() as session:
        found = {str(status): int(n) for status, n in (await session.execute(query)).all()}
    names = tuple(s.value for s in CustomerStatus)
    return names, tuple(found.get(name, 0) for name in names)


async def expiries(
    db: Database, where: Audience, period: Period, zone: ZoneInfo
) -> tuple[int, ...]:
    """Active customers whose subscription ends on each day of ``period``."""
    inner = (
        select(bucket_number(Customer.expires_at, period, Step.DAY, zone).label("n"))
        .where(
            Customer.status == CustomerStatus.ACTIVE,
            _of(Customer.reseller_id, where),
            *_between(Customer.expires_at, period, zone),
        )
        .subquery()
    )
    async with db.transaction() as session:
        rows = (await session.execute(select(inner.c.n, func.count()).group_by(inner.c.n))).all()
    counts = [0] * len(buckets(period, Step.DAY))
    for n, count in rows:
        counts[n] += int(count)
    return tuple(counts)
