"""A reseller's statement for a period, computed from the ledger's transfers.

The opening balance is the sum of the account's movements before the period; the period's
movements are summed by what they were (credits added or removed, sales, refunds, cash
received, expired); the closing balance is the sum of every movement up to the period's
end, computed on its own, so ``opening + net == closing`` is a check, not a definition.

A period is whole days in the business's time zone: ``first`` to ``last`` inclusive.
The movements themselves are read page by page (``lines``), for a file of any length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import days
from bot.db import Database
from bot.services.resellers import ResellerView, require_by_telegram_id
from models import EntryKind, Transfer

PAGE = 500


class StatementError(Exception):
    """A period was refused; ``code`` says why, ``params`` are its plain values."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class Preset(StrEnum):
    THIS_MONTH = "tm"
    LAST_MONTH = "lm"
    LAST_30_DAYS = "30"


@dataclass(frozen=True)
class Period:
    first: dt.date
    last: dt.date  # inclusive

    def bounds(self, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
        """[start, end) in UTC: midnight of ``first`` to midnight after ``last``, local."""
        start = dt.datetime.combine(self.first, dt.time(), zone)
        end = dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


@dataclass(frozen=True)
class Statement:
    reseller: ResellerView
    period: Period
    opening: int
    added: int  # top-ups, added adjustments, transfers in
    removed: int  # removed adjustments, transfers out
    sales: int  # activations and renewals
    refunds: int
    cash: int  # cash received
    expired: int
    closing: int
    movements: int
    last_transfer_id: int  # the lines of this statement go no further

    @property
    def net(self) -> int:
        return self.added - self.removed - self.sales + self.refunds + self.cash - self.expired

    @property
    def adds_up(self) -> bool:
        return self.opening + self.net == self.closing


@dataclass(frozen=True)
class Line:
    transfer_id: int
    created_at: dt.datetime
    kind: str
    amount: int  # signed: positive in, negative out
    balance: int  # after this movement
    comment: str | None


def today(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    return now.astimezone(zone).date()


def preset(which: Preset, now: dt.datetime, zone: ZoneInfo) -> Period:
    day = today(now, zone)
    if which == Preset.THIS_MONTH:
        return Period(day.replace(day=1), day)
    if which == Preset.LAST_MONTH:
        last = day.replace(day=1) - dt.timedelta(days=1)
        return Period(last.replace(day=1), last)
    return Period(day - dt.timedelta(days=29), day)


def parse_period(text: str, now: dt.datetime, zone: ZoneInfo) -> Period:
    """``yyyy-mm-dd yyyy-mm-dd`` (any digits): a real first day, not after the last, and a
    last day not after today."""
    try:
        first, last = days.parse_days(text)
    except days.DayError as error:
        raise StatementError(error.code, str(error)) from None
    if last > today(now, zone):
        raise StatementError("future", "the period cannot end after today")
    return Period(first, last)


def _signed(account_id: int) -> ColumnElement[int]:
    return case((Transfer.to_account_id == account_id, Transfer.amount), else_=-Transfer.amount)


def _involving(account_id: int) -> ColumnElement[bool]:
    return or_(Transfer.from_account_id == account_id, Transfer.to_account_id == account_id)


async def _sum_before(session: AsyncSession, account_id: int, moment: dt.datetime) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(_signed(account_id)), 0)).where(
            _involving(account_id), Transfer.created_at < moment
        )
    )
    return int(total or 0)


async def statement(db: Database, telegram_id: int, period: Period, zone: ZoneInfo) -> Statement:
    """The reseller's figures for ``period`` (one consistent read)."""
    start, end = period.bounds(zone)
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        account = reseller.account_id
        incoming = Transfer.to_account_id == account
        rows = (
            await session.execute(
                select(
                    Transfer.kind,
                    incoming,
                    func.sum(Transfer.amount),
                    func.count(),
                    func.max(Transfer.id),
                )
                .where(_involving(account), Transfer.created_at >= start, Transfer.created_at < end)
                .group_by(Transfer.kind, incoming)
            )
        ).all()
        opening = await _sum_before(session, account, start)
        closing = await _sum_before(session, account, end)
    sums = {"added": 0, "removed": 0, "sales": 0, "refunds": 0, "cash": 0, "expired": 0}
    count, last_id = 0, 0
    for kind, is_in, amount, n, top in rows:
        sums[_bucket(kind, bool(is_in))] += int(amount)
        count, last_id = count + int(n), max(last_id, int(top))
    return Statement(
        reseller,
        period,
        opening,
        closing=closing,
        movements=count,
        last_transfer_id=last_id,
        **sums,
    )


def _bucket(kind: str, incoming: bool) -> str:
    if kind == EntryKind.CASH_RECEIVED:
        return "cash" if incoming else "removed"
    if kind == EntryKind.EXPIRY and not incoming:
        return "expired"
    if kind in (EntryKind.ACTIVATION, EntryKind.RENEWAL) and not incoming:
        return "sales"
    if kind == EntryKind.REFUND and incoming:
        return "refunds"
    return "added" if incoming else "removed"


async def lines(
    db: Database, found: Statement, zone: ZoneInfo, *, page: int = PAGE
) -> AsyncIterator[list[Line]]:
    """The statement's movements in order, a page at a time, each with the balance after it."""
    start, end = found.period.bounds(zone)
    account, balance, after_id = found.reseller.account_id, found.opening, 0
    while after_id < found.last_transfer_id:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(
                        Transfer.id,
                        Transfer.created_at,
                        Transfer.kind,
                        _signed(account),
                        Transfer.comment,
                    )
                    .where(
                        _involving(account),
                        Transfer.created_at >= start,
                        Transfer.created_at < end,
                        Transfer.id > after_id,
                        Transfer.id <= found.last_transfer_id,
                    )
                    .order_by(Transfer.id)
                    .limit(page)
                )
            ).all()
        if not rows:
            return
        batch: list[Line] = []
        for transfer_id, created_at, kind, amount, comment in rows:
            balance += int(amount)
            batch.append(Line(transfer_id, created_at, kind, int(amount), balance, comment))
        after_id = rows[-1][0]
        yield batch
