"""What credits cost (tiered, cheaper in bulk) and how resellers may pay."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log
from models import PaymentMethod, PriceTier
from models.base import utcnow

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


def version(method: Method) -> str:
    """A short digest of what a reseller is told of ``method`` (its name and instructions):
    a flow keeps it to notice that the method changed since it was shown."""
    told = f"{method.code}\0{method.name}\0{method.instructions}".encode()
    return hashlib.sha256(told).hexdigest()[:16]


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
#
# The chat's catalogue screens and the operator CLI call these; each change is logged.

MAX_METHOD_NAME = 64


def check_tier(min_credits: int, unit_price: int) -> None:
    if min_credits < 0 or unit_price <= 0:
        raise PricingError("bad_tier", "a tier needs a minimum of 0 or more and a price above zero")


def check_method_code(code: str) -> str:
    code = code.strip().lower()
    if not _CODE.fullmatch(code):
        raise PricingError(
            "bad_code", "a method code is 1 to 32 lowercase letters, digits, '-' or '_'"
        )
    return code


async def check_new_method_code(db: Database, code: str) -> str:
    """A code for a new method: well formed and not taken."""
    code = check_method_code(code)
    async with db.transaction() as session:
        if await session.scalar(select(PaymentMethod.id).where(PaymentMethod.code == code)):
            raise PricingError(
                "method_exists", f"a payment method with code {code!r} already exists", method=code
            )
    return code


async def check_tier_start(db: Database, min_credits: int, tier_id: int = 0) -> int:
    """Where a tier (``tier_id``, or a new one) may start: not below zero, not on another."""
    if min_credits < 0:
        raise PricingError("negative_minimum", "the minimum cannot be negative")
    async with db.transaction() as session:
        await _tier_taken(session, min_credits, other_than=tier_id)
    return min_credits


def check_method_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_METHOD_NAME:
        raise PricingError(
            "bad_name",
            f"the method name must be 1 to {MAX_METHOD_NAME} characters",
            length=len(name),
            limit=MAX_METHOD_NAME,
        )
    return name


def check_instructions(instructions: str) -> str:
    instructions = instructions.strip()
    if not instructions or len(instructions) > MAX_INSTRUCTIONS:
        raise PricingError(
            "bad_instructions",
            f"the instructions must be 1 to {MAX_INSTRUCTIONS} characters",
            length=len(instructions),
            limit=MAX_INSTRUCTIONS,
        )
    return instructions


def check_min_total(min_total: int) -> int:
    if min_total < 0:
        raise PricingError("negative_minimum", "the minimum cannot be negative")
    return min_total


def _tier(tier: PriceTier) -> Tier:
    return Tier(tier.id, tier.min_credits, tier.unit_price)


def _tier_logged(tier: PriceTier | Tier) -> dict[str, object]:
    return {"min_credits": tier.min_credits, "unit_price": tier.unit_price}


def _method_logged(m: PaymentMethod | Method) -> dict[str, object]:
    return {
        "code": m.code, "name": m.name, "instructions": m.instructions,
        "min_total": m.min_total, "active": m.active,
    }  # fmt: skip


def _when(now: dt.datetime | None) -> dt.datetime:
    return now or utcnow()


async def _tier_taken(session: AsyncSession, min_credits: int, other_than: int = 0) -> None:
    exists = await session.scalar(
        select(PriceTier.id).where(PriceTier.min_credits == min_credits, PriceTier.id != other_than)
    )
    if exists is not None:
        raise PricingError(
            "tier_exists",
            "a tier with that minimum already exists; remove it first",
            min_credits=min_credits,
        )


async def add_tier(
    db: Database,
    *,
    min_credits: int,
    unit_price: int,
    actor: str = "cli",
    now: dt.datetime | None = None,
) -> Tier:
    check_tier(min_credits, unit_price)

    async def _add(session: AsyncSession) -> Tier:
        await _tier_taken(session, min_credits)
        tier = PriceTier(min_credits=min_credits, unit_price=unit_price)
        session.add(tier)
        await session.flush()
        await admin_log.record(
            session, actor=actor, action="tier_added", now=_when(now), after=_tier_logged(tier)
        )
        return _tier(tier)

    return await db.run(_add)


async def get_tier(db: Database, tier_id: int) -> Tier:
    async with db.transaction() as session:
        found = await session.get(PriceTier, tier_id)
        if found is None:
            raise PricingError("no_tier", "no such tier", tier_id=tier_id)
        return _tier(found)


async def edit_tier(
    db: Database,
    *,
    tier_id: int,
    actor: str,
    now: dt.datetime,
    min_credits: int | None = None,
    unit_price: int | None = None,
) -> Tier:
    """Change where a tier starts or what a credit costs in it; the next quote uses it."""
    async with db.transaction() as session:
        tier = await session.get(PriceTier, tier_id, with_for_update=True)
        if tier is None:
            raise PricingError("no_tier", "no such tier", tier_id=tier_id)
        before = _tier_logged(tier)
        new_min = tier.min_credits if min_credits is None else min_credits
        new_price = tier.unit_price if unit_price is None else unit_price
        check_tier(new_min, new_price)
        await _tier_taken(session, new_min, other_than=tier.id)
        tier.min_credits, tier.unit_price = new_min, new_price
        after = _tier_logged(tier)
        if after != before:
            await admin_log.record(
                session, actor=actor, action="tier_edited", now=now, before=before, after=after
            )
        await session.flush()
        return _tier(tier)


async def delete_tier(db: Database, *, tier_id: int, actor: str, now: dt.datetime) -> Tier:
    """Stop pricing by this tier: amounts it covered fall to the tier below (if any)."""
    async with db.transaction() as session:
        tier = await session.get(PriceTier, tier_id, with_for_update=True)
        if tier is None:
            raise PricingError("no_tier", "no such tier", tier_id=tier_id)
        await admin_log.record(
            session, actor=actor, action="tier_removed", now=now, before=_tier_logged(tier)
        )
        await session.delete(tier)
        return _tier(tier)


async def remove_tier(db: Database, *, min_credits: int, actor: str = "cli") -> None:
    async with db.transaction() as session:
        tier = await session.scalar(select(PriceTier).where(PriceTier.min_credits == min_credits))
        if tier is None:
            raise PricingError("no_tier", "no tier with that minimum", min_credits=min_credits)
        await admin_log.record(
            session, actor=actor, action="tier_removed", now=_when(None), before=_tier_logged(tier)
        )
        await session.delete(tier)


async def list_tiers(db: Database) -> list[Tier]:
    async with db.transaction() as session:
        return await tiers(session)


async def offered_methods(db: Database, total: int) -> list[Method]:
    """The methods a reseller paying ``total`` is offered now, for an admin's preview."""
    async with db.transaction() as session:
        return await methods_for(session, total)


async def add_method(
    db: Database,
    *,
    code: str,
    name: str,
    instructions: str,
    min_total: int = 0,
    actor: str = "cli",
    now: dt.datetime | None = None,
) -> Method:
    code, name = check_method_code(code), check_method_name(name)
    instructions, min_total = check_instructions(instructions), check_min_total(min_total)

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
        view = _method(found)
        await admin_log.record(
            session, actor=actor, action="method_added", now=_when(now), after=_method_logged(view)
        )
        return view

    return await db.run(_add)


async def get_method(db: Database, method_id: int) -> Method:
    async with db.transaction() as session:
        found = await method(session, method_id)
    if found is None:
        raise PricingError("no_method", "no such payment method", method=str(method_id))
    return found


async def edit_method(
    db: Database,
    *,
    method_id: int,
    actor: str,
    now: dt.datetime,
    name: str | None = None,
    instructions: str | None = None,
    min_total: int | None = None,
    active: bool | None = None,
) -> Method:
    """Change what resellers are told of a method, its minimum, or whether it is offered.

    A reseller who was shown the old instructions is told they changed at their Confirm.
    """
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = check_method_name(name)
    if instructions is not None:
        changes["instructions"] = check_instructions(instructions)
    if min_total is not None:
        changes["min_total"] = check_min_total(min_total)
    if active is not None:
        changes["active"] = active
    async with db.transaction() as session:
        found = await session.get(PaymentMethod, method_id, with_for_update=True)
        if found is None:
            raise PricingError("no_method", "no such payment method", method=str(method_id))
        before = {k: getattr(found, k) for k in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        for field, value in changed.items():
            setattr(found, field, value)
        if changed:
            action = "method_edited"
            if set(changed) == {"active"}:
                action = "method_enabled" if active else "method_disabled"
            await admin_log.record(
                session, actor=actor, action=action, now=now,
                before={"code": found.code, **{k: before[k] for k in changed}},
                after={"code": found.code, **changed},
            )  # fmt: skip
        await session.flush()
        return _method(found)


async def disable_method(db: Database, *, code: str, actor: str = "cli") -> None:
    async with db.transaction() as session:
        found = await session.scalar(
            select(PaymentMethod).where(PaymentMethod.code == code).with_for_update()
        )
        if found is None:
            raise PricingError("no_method", f"no payment method with code {code!r}", method=code)
        if found.active:
            found.active = False
            await admin_log.record(
                session, actor=actor, action="method_disabled", now=_when(None),
                before={"code": code, "active": True}, after={"code": code, "active": False},
            )  # fmt: skip


async def list_methods(db: Database) -> list[Method]:
    async with db.transaction() as session:
        rows = await session.scalars(select(PaymentMethod).order_by(PaymentMethod.id))
        return [_method(m) for m in rows]
