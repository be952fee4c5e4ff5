"""Configuring a Stars payment method: how many credits one Star buys, and the bounds.

A Stars method is a payment method of kind ``stars``: it is offered in /topup beside the
manual ones, and a reseller who picks it pays an invoice instead of sending a proof.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, pricing
from bot.services.stars import StarsError, StarsMethod, method_view
from models import MethodKind, PaymentMethod

MAX_RATE = 100_000_000  # hundredths of a credit per Star: a million credits


def check_rate(rate: int) -> int:
    if not 0 < rate <= MAX_RATE:
        raise StarsError("bad_rate", "One Star must buy more than 0 credits.", limit=MAX_RATE)
    return rate


def check_bounds(min_credits: int | None, max_credits: int | None) -> None:
    if min_credits is not None and min_credits < 0:
        raise StarsError("bad_bounds", "The minimum cannot be negative.")
    if min_credits is not None and max_credits is not None and max_credits < min_credits:
        raise StarsError("bad_bounds", "The maximum is below the minimum.")


async def configure(
    db: Database,
    *,
    code: str,
    name: str,
    rate: int,
    min_credits: int | None = None,
    max_credits: int | None = None,
    instructions: str = "Telegram Stars",
    actor: str = "cli",
    now: dt.datetime,
) -> StarsMethod:
    """Add the Stars method ``code``, or change its name, rate and bounds (logged)."""
    code = pricing.check_method_code(code)
    name = pricing.check_method_name(name)
    instructions = pricing.check_instructions(instructions)
    check_rate(rate)
    check_bounds(min_credits, max_credits)

    async def _configure(session: AsyncSession) -> StarsMethod:
        row = await session.scalar(select(PaymentMethod).where(PaymentMethod.code == code))
        before = None
        if row is None:
            row = PaymentMethod(code=code, instructions=instructions, min_total=0, active=True)
            session.add(row)
        elif row.kind != MethodKind.STARS:
            raise StarsError("not_stars", f"Payment method {code!r} is not a Stars method.")
        else:
            before = {"rate": row.stars_rate, "min": row.stars_min_credits,
                      "max": row.stars_max_credits, "name": row.name}  # fmt: skip
        row.name, row.kind, row.stars_rate = name, MethodKind.STARS, rate
        row.stars_min_credits, row.stars_max_credits = min_credits, max_credits
        await session.flush()
        await admin_log.record(
            session, actor=actor, action="stars_method", now=now, before=before,
            after={"code": code, "name": name, "rate": rate, "min": min_credits,
                   "max": max_credits},
        )  # fmt: skip
        found = method_view(row)
        assert found is not None
        return found

    return await db.run(_configure)
