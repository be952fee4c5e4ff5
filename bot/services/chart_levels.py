"""The charts of a level over time: a reseller's balance, or what postpaid resellers owe,
at the end of each step, found from today's balances and the movements since the period
began, summed per bucket by the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from bot.db import Database
from bot.services.chart_queries import Audience, Step, bucket_number, buckets, reseller_balances
from bot.services.statements import Period
from models import Transfer


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
        balances = await reseller_balances(session, where, owing_only=account is None)
        if account is not None:
            balances = {account: balances.get(account, 0)}
        accounts = sorted(balances)
        sides = (Transfer.from_account_id, Transfer.to_account_id)
        touching = or_(*(side.in_(accounts) for side in sides))
        inner = (
            select(bucket_number(Transfer.created_at, period, step, zone).label("n"), *sides,
                   Transfer.amount)
            .where(Transfer.created_at >= start, touching)
            .subquery()
        )  # fmt: skip
        grouped = (inner.c.n, inner.c.from_account_id, inner.c.to_account_id)
        moves = (await session.execute(
            select(*grouped, func.sum(inner.c.amount)).group_by(*grouped).order_by(inner.c.n)
        )).all()  # fmt: skip
    return _walk(balances, [tuple(int(v) for v in row) for row in moves], account, period, step)


Move = tuple[int, ...]  # bucket (the number of buckets: after the period), from, to, amount


def _walk(
    balances: dict[int, int],
    moves: Sequence[Move],
    account: int | None,
    period: Period,
    step: Step,
) -> tuple[int, tuple[int, ...]]:
    """Today's ``balances`` walked back over ``moves`` (the movements since the period's
    start, summed per bucket, in order) to the start, then forward, noting the value at
    each step's end. Within a step the order does not matter: only its end is shown."""
    for _, source, target, amount in moves:  # back to the period's start
        if source in balances:
            balances[source] += amount
        if target in balances:
            balances[target] -= amount

    def owed(balance: int) -> int:
        return max(0, -balance)

    fold: Callable[[int], int] = (lambda b: b) if account is not None else owed
    opening = value = sum(fold(b) for b in balances.values())
    ends = [0] * len(buckets(period, step))
    done = 0  # the steps before this one are over
    for n, source, target, amount in moves:
        if n >= len(ends):
            break  # after the period (the moves come in bucket order)
        while done < n:
            ends[done], done = value, done + 1
        for side, change in ((source, -amount), (target, amount)):
            if side in balances:
                value += fold(balances[side] + change) - fold(balances[side])
                balances[side] += change
    while done < len(ends):
        ends[done], done = value, done + 1
    return opening, tuple(ends)
