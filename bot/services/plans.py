"""Plans (packages) resellers sell."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.money import AmountError, parse_amount
from bot.services import admin_log
from models import Panel, Plan
from models.base import utcnow

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_DAYS = 3650
MAX_NAME = 100


class PlanError(Exception):
    """A plan operation was refused.

    ``code`` says why and ``params`` are its plain values, for the chat to word in the
    reader's language; the message is the English the operator CLI prints.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class PlanView:
    id: int
    code: str
    name: str
    days: int
    price: int
    active: bool
    panel: str | None = None  # None: the local provider
    data_limit_bytes: int | None = None
    reset_traffic_on_renewal: bool = False
    position: int = 0


def _view(plan: Plan, panel: str | None = None) -> PlanView:
    return PlanView(
        plan.id, plan.code, plan.name, plan.days, plan.price, plan.active,
        panel, plan.data_limit_bytes, plan.reset_traffic_on_renewal, plan.position,
    )  # fmt: skip


# --- the rules a plan's fields follow (the chat and the CLI share them) -------------------


def check_code(code: str) -> str:
    code = code.strip().lower()
    if not _CODE.fullmatch(code):
        raise PlanError("bad_code", "a plan code is 1 to 32 lowercase letters, digits, '-' or '_'")
    return code


async def check_new_code(db: Database, code: str) -> str:
    """A code for a new plan: well formed and not taken."""
    code = check_code(code)
    async with db.transaction() as session:
        if await session.scalar(select(Plan.id).where(Plan.code == code)) is not None:
            raise PlanError("plan_exists", f"a plan with code {code!r} already exists", plan=code)
    return code


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise PlanError(
            "bad_name",
            f"the plan name must be 1 to {MAX_NAME} characters",
            length=len(name),
            limit=MAX_NAME,
        )
    return name


def check_days(days: int) -> int:
    if not 0 < days <= MAX_DAYS:
        raise PlanError("bad_days", f"days must be between 1 and {MAX_DAYS}", limit=MAX_DAYS)
    return days


def parse_days(text: str) -> int:
    """Days as typed: a whole number from 1 to MAX_DAYS, in any of the digits amounts take."""
    try:
        hundredths = parse_amount(text)
    except AmountError:
        hundredths = 0
    if hundredths % 100:
        hundredths = 0
    return check_days(hundredths // 100)


def check_price(price: int) -> int:
    if price <= 0:
        raise PlanError("bad_price", "the price must be greater than zero")
    return price


async def add_plan(
    db: Database,
    *,
    code: str,
    name: str,
    days: int,
    price: int,
    panel: str | None = None,
    template: Mapping[str, Any] | None = None,
    data_limit_bytes: int | None = None,
    reset_traffic_on_renewal: bool = False,
    actor: str = "cli",
    now: dt.datetime | None = None,
) -> PlanView:
    """Add a plan, last in the resellers' lists; with ``panel`` it provisions there, placed
    by ``template``. Logged as ``actor``'s action."""
    code, name = check_code(code), check_name(name)
    check_days(days)
    check_price(price)
    if data_limit_bytes is not None and data_limit_bytes <= 0:
        raise PlanError(
            "bad_data_limit", "the data limit must be greater than zero (leave it out: unlimited)"
        )
    if panel is None and (template or data_limit_bytes or reset_traffic_on_renewal):
        raise PlanError(
            "needs_panel", "a template, data limit or traffic reset needs a panel (--panel)"
        )
    when = now or utcnow()

    async def _add(session: AsyncSession) -> PlanView:
        if await session.scalar(select(Plan.id).where(Plan.code == code)) is not None:
            raise PlanError("plan_exists", f"a plan with code {code!r} already exists", plan=code)
        panel_id = None
        if panel is not None:
            row = await session.scalar(select(Panel).where(Panel.name == panel.strip().lower()))
            if row is None:
                raise PlanError("no_panel", f"no panel named {panel!r}; see `panel list`")
            if not row.enabled:
                raise PlanError("panel_disabled", f"panel {row.name} is disabled")
            panel_id = row.id
        last = await session.scalar(select(func.max(Plan.position)))
        plan = Plan(
            code=code, name=name, days=days, price=price, active=True, panel_id=panel_id,
            template=json.dumps(dict(template)) if template else None,
            data_limit_bytes=data_limit_bytes,
            reset_traffic_on_renewal=reset_traffic_on_renewal, position=(last or 0) + 1,
        )  # fmt: skip
        session.add(plan)
        await session.flush()
        view = _view(plan, panel.strip().lower() if panel else None)
        await admin_log.record(
            session, actor=actor, action="plan_added", now=when, after=_logged(view)
        )
        return view

    return await db.run(_add)


async def list_plans(db: Database, *, active_only: bool = False) -> list[PlanView]:
    async with db.transaction() as session:
        query = (
            select(Plan, Panel.name)
            .outerjoin(Panel, Panel.id == Plan.panel_id)
            .order_by(Plan.position, Plan.id)
        )
        if active_only:
            query = query.where(Plan.active.is_(True))
        return [_view(p, panel) for p, panel in await session.execute(query)]


def _logged(plan: PlanView) -> dict[str, object]:
    return {
        "code": plan.code, "name": plan.name, "days": plan.days, "price": plan.price,
        "active": plan.active,
    }  # fmt: skip


async def _locked(session: AsyncSession, plan_id: int) -> Plan:
    plan = await session.get(Plan, plan_id, with_for_update=True)
    if plan is None:
        raise PlanError("no_plan", f"no plan with id {plan_id}", plan_id=plan_id)
    return plan


async def _read(session: AsyncSession, plan_id: int) -> PlanView:
    await session.flush()
    found = await session.execute(
        select(Plan, Panel.name)
        .outerjoin(Panel, Panel.id == Plan.panel_id)
        .where(Plan.id == plan_id)
    )
    row = found.first()
    if row is None:
        raise PlanError("no_plan", f"no plan with id {plan_id}", plan_id=plan_id)
    return _view(row[0], row[1])


async def get_plan(db: Database, plan_id: int) -> PlanView:
    async with db.transaction() as session:
        return await _read(session, plan_id)


async def edit_plan(
    db: Database,
    *,
    plan_id: int,
    actor: str,
    now: dt.datetime,
    name: str | None = None,
    days: int | None = None,
    price: int | None = None,
) -> PlanView:
    """Change a plan's name, days or price; logged with the values before and after.

    A new price is what the next confirmation screen shows; a sale already on its screen
    is refused at Confirm (the sale compares the price it showed) and shown the new one.
    """
    changes: dict[str, object] = {}
    if name is not None:
        changes["name"] = check_name(name)
    if days is not None:
        changes["days"] = check_days(days)
    if price is not None:
        changes["price"] = check_price(price)
    async with db.transaction() as session:
        plan = await _locked(session, plan_id)
        before = {field: getattr(plan, field) for field in changes}
        changed = {k: v for k, v in changes.items() if before[k] != v}
        for field, value in changed.items():
            setattr(plan, field, value)
        if changed:
            await admin_log.record(
                session, actor=actor, action="plan_edited", now=now,
                before={"code": plan.code, **{k: before[k] for k in changed}},
                after={"code": plan.code, **changed},
            )  # fmt: skip
        return await _read(session, plan_id)


async def set_plan_active(
    db: Database, *, plan_id: int, active: bool, actor: str, now: dt.datetime
) -> PlanView:
    """Offer a plan to resellers again, or stop offering it; doing it twice changes nothing."""
    async with db.transaction() as session:
        plan = await _locked(session, plan_id)
        if plan.active != active:
            await admin_log.record(
                session, actor=actor, action="plan_enabled" if active else "plan_disabled",
                now=now, before={"code": plan.code, "active": plan.active},
                after={"code": plan.code, "active": active},
            )  # fmt: skip
            plan.active = active
        return await _read(session, plan_id)


async def move_plan(
    db: Database, *, plan_id: int, up: bool, actor: str, now: dt.datetime
) -> PlanView:
    """Swap a plan with the one above (or below) it in the resellers' lists; at the top (or
    the bottom) it stays where it is."""
    async with db.transaction() as session:
        rows = list(
            await session.scalars(select(Plan).order_by(Plan.position, Plan.id).with_for_update())
        )
        index = next((i for i, p in enumerate(rows) if p.id == plan_id), None)
        if index is None:
            raise PlanError("no_plan", f"no plan with id {plan_id}", plan_id=plan_id)
        other = index - 1 if up else index + 1
        if 0 <= other < len(rows):
            rows[index], rows[other] = rows[other], rows[index]
            moved = rows[other]
            await admin_log.record(
                session, actor=actor, action="plan_moved", now=now,
                before={"code": moved.code, "place": index + 1},
                after={"code": moved.code, "place": other + 1},
            )  # fmt: skip
        # Numbered afresh each time, so equal or missing positions cannot stall a move.
        for position, plan in enumerate(rows, start=1):
            plan.position = position
        return await _read(session, plan_id)
