"""What credits cost (tiered, cheaper in bulk) and how resellers may pay."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services.ledger import rowcount
from models import PaymentMethod, PriceTier

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_INSTRUCTIONS = 800


class PricingError(Exception):
    """A pricing or payment-method operation was refused.

    ``code`` says why and ``params`` are its plain values; the message is the English the
    operator CLI prints.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Tier:
    id: int
    min_credits: int
    unit_price: int


@dataclass(frozen=True)
class Quote:
    credits: int
    unit_price: int  # hundredths of the price currency per credit
    total: int  # hundredths of the price currency


@dataclass(frozen=True)
class Method:
    id: int
    code: str
    name: str
    instructions: str
    min_total: int
    active: bool


def price_of(credits: int, unit_price: int) -> int:
    """Total for ``credits`` hundredths at ``unit_price`` per credit, to the cent, half up."""
    exact = Decimal(credits) * Decimal(unit_price) / 100
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def tiers(session: AsyncSession) -> list[Tier]:
    rows = await session.scalars(select(PriceTier).order_by(PriceTier.min_credits))
    return [Tier(t.id, t.min_credits, t.unit_price) for t in rows]


async def quote(session: AsyncSession, credits: int) -> Quote | None:
    """The price of ``credits`` by the tier it falls in; None if no tier covers it."""
    tier = await session.scalar(
        select(PriceTier)
        .where(PriceTier.min_credits <= credits)
        .order_by(PriceTier.min_credits.desc())
        .limit(1)
    )
    if tier is None:
        return None
    return Quote(credits, tier.unit_price, price_of(credits, tier.unit_price))


def _method(m: PaymentMethod) -> Method:
    return Method(m.id, m.code, m.name, m.instructions, m.min_total, m.active)


async def methods_for(session: AsyncSession, total: int) -> list[Method]:
    """Active methods that accept a payment of ``total``."""
    rows = await session.scalars(
        select(PaymentMethod)
        .where(PaymentMethod.active.is_(True), PaymentMethod.min_total <= total)
        .order_by(PaymentMethod.name, PaymentMethod.id)
    )
    return [_method(m) for m in rows]


async def method(session: AsyncSession, method_id: int) -> Method | None:
    found = await session.get(PaymentMethod, method_id)
    return None if found is None else _method(found)


# --- operator configuration ----------------------------------------------------------


async def add_tier(db: Database, *, min_credits: int, unit_price: int) -> Tier:
    if min_credits < 0 or unit_price <= 0:
        raise PricingError("bad_tier", "a tier needs a minimum of 0 or more and a price above zero")

    async def _add(session: AsyncSession) -> Tier:
        exists = await session.scalar(
            select(PriceTier.id).where(PriceTier.min_credits == min_credits)
        )
        if exists is not None:
            raise PricingError(
                "tier_exists", "a tier with that minimum already exists; remove it first"
            )
        tier = PriceTier(min_credits=min_credits, unit_price=unit_price)
        session.add(tier)
        await session.flush()
        return Tier(tier.id, tier.min_credits, tier.unit_price)

    return await db.run(_add)


async def remove_tier(db: Database, *, min_credits: int) -> None:
    async with db.transaction() as session:
        tier = await session.scalar(select(PriceTier).where(PriceTier.min_credits == min_credits))
        if tier is None:
            raise PricingError("no_tier", "no tier with that minimum", min_credits=min_credits)
        await session.delete(tier)


async def list_tiers(db: Database) -> list[Tier]:
    async with db.transaction() as session:
        return await tiers(session)


async def add_method(
    db: Database, *, code: str, name: str, instructions: str, min_total: int = 0
) -> Method:
    code, name, instructions = code.strip().lower(), name.strip(), instructions.strip()
    if not _CODE.fullmatch(code):
        raise PricingError(
            "bad_code", "a method code is 1 to 32 lowercase letters, digits, '-' or '_'"
        )
    if not name or len(name) > 64:
        raise PricingError("bad_name", "the method name must be 1 to 64 characters")
    if not instructions or len(instructions) > MAX_INSTRUCTIONS:
        raise PricingError(
            "bad_instructions",
            f"the instructions must be 1 to {MAX_INSTRUCTIONS} characters",
            limit=MAX_INSTRUCTIONS,
        )
    if min_total < 0:
        raise PricingError("negative_minimum", "the minimum cannot be negative")

    async def _add(session: AsyncSession) -> Method:
        if await session.scalar(select(PaymentMethod.id).where(PaymentMethod.code == code)):
            raise PricingError(
                "method_exists", f"a payment method with code {code!r} already exists", method=code
            )
        found = PaymentMethod(
            code=code, name=name, instructions=instructions, min_total=min_total, active=True
        )
        session.add(found)
        await session.flush()
        return _method(found)

    return await db.run(_add)


async def disable_method(db: Database, *, code: str) -> None:
    async with db.transaction() as session:
        result = await session.execute(
            update(PaymentMethod).where(PaymentMethod.code == code).values(active=False)
        )
        if not rowcount(result):
            raise PricingError("no_method", f"no payment method with code {code!r}", method=code)


async def list_methods(db: Database) -> list[Method]:
    async with db.transaction() as session:
        rows = await session.scalars(select(PaymentMethod).order_by(PaymentMethod.id))
        return [_method(m) for m in rows]
