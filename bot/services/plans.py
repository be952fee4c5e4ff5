"""Plans (packages) resellers sell."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from models import Panel, Plan

_CODE = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAX_DAYS = 3660


class PlanError(Exception):
    """A plan operation was refused; the message says why."""


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


def _view(plan: Plan, panel: str | None = None) -> PlanView:
    return PlanView(
        plan.id, plan.code, plan.name, plan.days, plan.price, plan.active,
        panel, plan.data_limit_bytes, plan.reset_traffic_on_renewal,
    )  # fmt: skip


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
) -> PlanView:
    """Add a plan; with ``panel`` it provisions there, placed by ``template``."""
    code = code.strip().lower()
    name = name.strip()
    if not _CODE.fullmatch(code):
        raise PlanError("a plan code is 1 to 32 lowercase letters, digits, '-' or '_'")
    if not name or len(name) > 100:
        raise PlanError("the plan name must be 1 to 100 characters")
    if not 0 < days <= MAX_DAYS:
        raise PlanError(f"days must be between 1 and {MAX_DAYS}")
    if price <= 0:
        raise PlanError("the price must be greater than zero")
    if data_limit_bytes is not None and data_limit_bytes <= 0:
        raise PlanError("the data limit must be greater than zero (leave it out: unlimited)")
    if panel is None and (template or data_limit_bytes or reset_traffic_on_renewal):
        raise PlanError("a template, data limit or traffic reset needs a panel (--panel)")

    async def _add(session: AsyncSession) -> PlanView:
        if await session.scalar(select(Plan.id).where(Plan.code == code)) is not None:
            raise PlanError(f"a plan with code {code!r} already exists")
        panel_id = None
        if panel is not None:
            row = await session.scalar(select(Panel).where(Panel.name == panel.strip().lower()))
            if row is None:
                raise PlanError(f"no panel named {panel!r}; see `panel list`")
            if not row.enabled:
                raise PlanError(f"panel {row.name} is disabled")
            panel_id = row.id
        plan = Plan(
            code=code, name=name, days=days, price=price, active=True, panel_id=panel_id,
            template=json.dumps(dict(template)) if template else None,
            data_limit_bytes=data_limit_bytes,
            reset_traffic_on_renewal=reset_traffic_on_renewal,
        )  # fmt: skip
        session.add(plan)
        await session.flush()
        return _view(plan, panel.strip().lower() if panel else None)

    return await db.run(_add)


async def list_plans(db: Database, *, active_only: bool = False) -> list[PlanView]:
    async with db.transaction() as session:
        query = (
            select(Plan, Panel.name)
            .outerjoin(Panel, Panel.id == Plan.panel_id)
            .order_by(Plan.price, Plan.id)
        )
        if active_only:
            query = query.where(Plan.active.is_(True))
        return [_view(p, panel) for p, panel in await session.execute(query)]
