"""The reads behind the charts, each one short transaction.

Rows are bucketed here, in Python, by the local day of the business's time zone: the
same on SQLite and PostgreSQL, and one query per chart rather than one per bucket.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot.db import Database
from bot.services.resellers import ResellerView
from bot.services.statements import Period
from models import (
    AccountKind,
    Customer,
    CustomerStatus,
    LedgerAccount,
    OrderKind,
    OrderStatus,
    PaymentMethod,
    Reseller,
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


def _indexer(period: Period, step: Step, zone: ZoneInfo) -> Callable[[dt.datetime], int | None]:
    """A moment's bucket in ``period``, or None outside it: found among the instants each
    bucket starts at (local midnight, in UTC), a bisection rather than a time zone
    conversion per row."""
    firsts = buckets(period, step)
    edges = [dt.datetime.combine(d, dt.time(), zone).astimezone(dt.UTC) for d in firsts]
    end = period.bounds(zone)[1]

    def of(moment: dt.datetime) -> int | None:
        if moment >= end:
            return None
        n = bisect_right(edges, moment) - 1
        return n if n >= 0 else None

    return of


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
    rows_now = select(
        SubscriptionOrder.completed_at, SubscriptionOrder.kind, SubscriptionOrder.price
    ).where(*done, *_between(SubscriptionOrder.completed_at, period, zone))
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
    here = _indexer(period, step, zone)

    def fold() -> None:
        for completed_at, kind, price in rows:
            assert completed_at is not None  # a completed order has its time
            n = here(completed_at)
            if n is not None:
                now_values[0 if kind == OrderKind.ACTIVATION else 1][n] += 1
                now_values[2][n] += int(price)

    await asyncio.to_thread(fold)  # CPU work for a long period: off the event loop
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


async def _reseller_accounts(
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
    """Credits issued to resellers (top-ups and added credit), spent on sales, and expired;
    the period before summed by the database."""
    spending = {OrderKind.ACTIVATION.value, OrderKind.RENEWAL.value}
    async with db.transaction() as session:
        system = await _system_accounts(session)
        resellers = await _reseller_accounts(session, where)
        issuance, sold = system[SystemAccount.ISSUANCE], system[SystemAccount.SALES]
        expired = system[SystemAccount.EXPIRED]
        moving = or_(Transfer.from_account_id == issuance,
                     Transfer.to_account_id.in_([sold, expired]))  # fmt: skip
        sides = (Transfer.from_account_id, Transfer.to_account_id, Transfer.kind)
        rows = (await session.execute(
            select(Transfer.created_at, *sides, Transfer.amount)
            .where(moving, *_between(Transfer.created_at, period, zone))
        )).all()  # fmt: skip
        totals = (await session.execute(
            select(*sides, func.sum(Transfer.amount))
            .where(moving, *_between(Transfer.created_at, earlier, zone))
            .group_by(*sides)
        )).all()  # fmt: skip

    def which(source: int, target: int, kind: str) -> int | None:
        if source == issuance and target in resellers:
            return 0
        if target == sold and source in resellers and kind in spending:
            return 1
        return 2 if target == expired and source in resellers else None

    keys = ("issued", "spent", "expired")
    now_values = [[0] * len(buckets(period, step)) for _ in keys]
    here = _indexer(period, step, zone)

    def fold() -> None:
        for created_at, source, target, kind, amount in rows:
            k, n = which(source, target, kind), here(created_at)
            if k is not None and n is not None:
                now_values[k][n] += int(amount)

    await asyncio.to_thread(fold)  # CPU work for a long period: off the event loop
    then = [0, 0, 0]
    for source, target, kind, amount in totals:
        k = which(source, target, kind)
        if k is not None:
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
    payment method and currency: names, currencies, totals in hundredths (most first)."""
    total = func.sum(TopUpRequest.total_price)
    query = (
        select(PaymentMethod.name, TopUpRequest.price_currency, total)
        .join(PaymentMethod, PaymentMethod.id == TopUpRequest.method_id)
        .where(
            TopUpRequest.status == TopUpStatus.APPROVED,
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


async def levels(
    db: Database,
    where: Audience,
    account: int | None,
    period: Period,
    step: Step,
    zone: ZoneInfo,
) -> tuple[int, tuple[int, ...]]:
    """``account``'s balance (None: what the resellers in ``where`` owe, summed) just
    before ``period`` and at the end of each step: today's balances walked back.

    Debt counts the resellers that may owe now (postpaid, a collection limit above zero);
    a prepaid balance never goes below zero."""
    start, _ = period.bounds(zone)
    async with db.transaction() as session:
        balances = await _reseller_accounts(session, where, owing_only=account is None)
        if account is not None:
            balances = {account: balances.get(account, 0)}
        accounts = sorted(balances)
        query = select(
            Transfer.created_at, Transfer.from_account_id, Transfer.to_account_id, Transfer.amount
        ).where(
            Transfer.created_at >= start,
            or_(Transfer.from_account_id.in_(accounts), Transfer.to_account_id.in_(accounts)),
        )
        rows = (await session.execute(query.order_by(Transfer.created_at, Transfer.id))).all()
    # Bucketing a long period's movements is CPU work: off the event loop.
    return await asyncio.to_thread(_walk, balances, rows, account, period, step, zone)


def _walk(
    balances: dict[int, int],
    rows: Sequence[Row[dt.datetime, int, int, int]],
    account: int | None,
    period: Period,
    step: Step,
    zone: ZoneInfo,
) -> tuple[int, tuple[int, ...]]:
    """Today's ``balances`` walked back over ``rows`` (the movements since the period's
    start, in order) to the start, then forward, noting the value at each step's end."""
    moves = [
        (moment, int(a), int(b), int(amount))
        for moment, a, b, amount in rows
        if a in balances or b in balances
    ]
    for _, source, target, amount in moves:  # back to the period's start
        if source in balances:
            balances[source] += amount
        if target in balances:
            balances[target] -= amount

    def owed(balance: int) -> int:
        return max(0, -balance)

    fold: Callable[[int], int] = (lambda b: b) if account is not None else owed
    opening = value = sum(fold(b) for b in balances.values())
    bucket_of = _indexer(period, step, zone)
    ends = [0] * len(buckets(period, step))
    done = 0  # the steps before this one are over
    for moment, source, target, amount in moves:
        n = bucket_of(moment)
        if n is None:
            continue  # after the period
        while done < n:
            ends[done], done = value, done + 1
        for side, change in ((source, -amount), (target, amount)):
            if side in balances:
                value += fold(balances[side] + change) - fold(balances[side])
                balances[side] += change
    while done < len(ends):
        ends[done], done = value, done + 1
    return opening, tuple(ends)


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
    query = select(Customer.expires_at).where(
        Customer.status == CustomerStatus.ACTIVE,
        _of(Customer.reseller_id, where),
        *_between(Customer.expires_at, period, zone),
    )
    async with db.transaction() as session:
        moments = list(await session.scalars(query))
    counts = [0] * len(buckets(period, Step.DAY))
    day_of = _indexer(period, Step.DAY, zone)
    for moment in moments:
        n = day_of(moment)
        if n is not None:
            counts[n] += 1
    return tuple(counts)
