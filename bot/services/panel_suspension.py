"""Suspending a suspended reseller's customers on their panels, and resuming them.

Each customer is one or two panel calls (read the user, then disable or enable it), made
outside any transaction and bounded in time; the database is touched only between calls.
A panel whose circuit is open is not asked: its customers are reported as failed at once,
and the others still go ahead.

The bot marks a customer it disables (``panel_suspended_at``) before asking the panel, so
a crash or a lost answer leaves it marked and reactivation resumes it (enabling a user
that is already enabled changes nothing). A user already disabled on the panel is left
unmarked: an admin disabled it there, and reactivation must not undo that.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select, update

from bot.adapters.panels.base import PanelAdapter, PanelError, PanelRejected, PanelUser, UserState
from bot.db import Database
from bot.services import admin_log
from bot.services.admin_log import ActionError
from bot.services.panel_provider import Panels
from bot.services.panels import PanelConfigError
from bot.services.resellers import require_by_telegram_id
from models import Customer, CustomerStatus, Plan, Reseller, ResellerStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_SECONDS = 10.0
FAILURES_LOGGED = 50  # usernames kept in the action log's details; the count is whole


class Sweep(StrEnum):
    SUSPEND = "suspend"
    RESUME = "resume"


@dataclass(frozen=True)
class Failure:
    """One customer the panel did not suspend or resume; ``code`` says why."""

    customer_id: int
    username: str
    panel: str
    code: str  # a PanelError's code, "panel_timeout", "panel_down" or "panel_config"


@dataclass(frozen=True)
class SweepResult:
    sweep: Sweep
    done: int  # suspended (or resumed) on their panel
    skipped: int  # already disabled on the panel by someone else (suspend only)
    failed: tuple[Failure, ...]

    @property
    def attempted(self) -> int:
        return self.done + self.skipped + len(self.failed)


@dataclass(frozen=True)
class _Target:
    customer_id: int
    username: str
    external_id: str
    panel_id: int
    marked: bool


class _Failed(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def _targets(
    db: Database, telegram_id: int, sweep: Sweep, now: dt.datetime
) -> tuple[int, list[_Target]]:
    """The reseller's id and the customers to act on; refuses a reseller in the wrong state."""
    wanted = ResellerStatus.SUSPENDED if sweep == Sweep.SUSPEND else ResellerStatus.ACTIVE
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        if reseller.status != wanted:
            raise ActionError(
                "reseller_not_" + wanted,
                f"{reseller.name} is not {wanted}; their customers were left as they are",
                status=reseller.status,
            )
        query = (
            select(
                Customer.id,
                Customer.username,
                Customer.external_id,
                Plan.panel_id,
                Customer.panel_suspended_at,
            )
            .join(Plan, Plan.id == Customer.plan_id)
            .where(
                Customer.reseller_id == reseller.id,
                Plan.panel_id.is_not(None),
                Customer.status == CustomerStatus.ACTIVE,
            )
            .order_by(Customer.id)
        )
        if sweep == Sweep.SUSPEND:
            query = query.where(Customer.expires_at > now)
        else:
            query = query.where(Customer.panel_suspended_at.is_not(None))
        rows = (await session.execute(query)).all()
    return reseller.id, [
        _Target(r.id, r.username, r.external_id or r.username, r.panel_id, r[4] is not None)
        for r in rows
    ]


async def _mark(db: Database, customer_id: int, at: dt.datetime | None) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Customer).where(Customer.id == customer_id).values(panel_suspended_at=at)
        )


async def _still(db: Database, reseller_id: int, status: ResellerStatus) -> bool:
    """Whether the reseller is still in the state the sweep is for (an admin may have
    reactivated it meanwhile; then the sweep stops)."""
    async with db.transaction() as session:
        found = await session.scalar(select(Reseller.status).where(Reseller.id == reseller_id))
    return found == status


class _Caller:
    """Panel calls bounded in time and refused while the panel's circuit is open."""

    def __init__(self, panels: Panels, seconds: float) -> None:
        self.panels, self.seconds = panels, seconds

    async def name(self, panel_id: int) -> str:
        try:
            view, _ = await self.panels.adapter(panel_id)
        except PanelConfigError:
            return f"#{panel_id}"
        return view.name

    async def __call__(self, panel_id: int, op: Callable[[PanelAdapter], Awaitable[T]]) -> T:
        try:
            await self.panels.adapter(panel_id)
        except PanelConfigError:
            raise _Failed("panel_config") from None
        breaker = self.panels.breaker(panel_id)
        if breaker.is_open and not breaker.probe_due():
            raise _Failed("panel_down")
        try:
            async with asyncio.timeout(self.seconds):
                return await self.panels.call(panel_id, op)
        except TimeoutError:
            raise _Failed("panel_timeout") from None
        except PanelError as exc:
            raise _Failed(exc.code) from exc


async def _suspend_one(db: Database, call: _Caller, target: _Target, now: dt.datetime) -> bool:
    """True when suspended, False when the panel already had it disabled by someone else."""
    user: PanelUser | None = await call(target.panel_id, lambda a: a.get(target.external_id))
    if user is None:
        raise _Failed("panel_user_not_found")
    if user.state == UserState.DISABLED and not target.marked:
        return False
    await _mark(db, target.customer_id, now)
    try:
        await call(target.panel_id, lambda a: a.suspend(target.external_id))
    except _Failed as exc:
        if isinstance(exc.__cause__, PanelRejected):  # refused: nothing changed there
            await _mark(db, target.customer_id, None)
        raise
    return True


async def _resume_one(db: Database, call: _Caller, target: _Target) -> bool:
    await call(target.panel_id, lambda a: a.resume(target.external_id))
    await _mark(db, target.customer_id, None)
    return True


async def _sweep(
    db: Database,
    panels: Panels,
    sweep: Sweep,
    *,
    telegram_id: int,
    actor: str,
    now: dt.datetime,
    seconds: float,
) -> SweepResult:
    reseller_id, targets = await _targets(db, telegram_id, sweep, now)
    status = ResellerStatus.SUSPENDED if sweep == Sweep.SUSPEND else ResellerStatus.ACTIVE
    call = _Caller(panels, seconds)
    done = skipped = 0
    failed: list[Failure] = []
    for target in targets:
        if not await _still(db, reseller_id, status):
            break
        try:
            if sweep == Sweep.SUSPEND:
                changed = await _suspend_one(db, call, target, now)
            else:
                changed = await _resume_one(db, call, target)
        except _Failed as exc:
            log.warning("%s customer %s on its panel: %s", sweep, target.customer_id, exc.code)
            panel = await call.name(target.panel_id)
            failed.append(Failure(target.customer_id, target.username, panel, exc.code))
            continue
        done, skipped = (done + 1, skipped) if changed else (done, skipped + 1)
    result = SweepResult(sweep, done, skipped, tuple(failed))
    if result.attempted:
        async with db.transaction() as session:
            await admin_log.record(
                session,
                actor=actor,
                action=(
                    "panel_customers_suspended"
                    if sweep == Sweep.SUSPEND
                    else "panel_customers_resumed"
                ),
                now=now,
                reseller_id=reseller_id,
                after={
                    "done": done,
                    "skipped": skipped,
                    "failed": len(failed),
                    "failures": {f.username: f.code for f in failed[:FAILURES_LOGGED]},
                },
            )
    return result


async def suspend_customers(
    db: Database,
    panels: Panels,
    *,
    telegram_id: int,
    actor: str,
    now: dt.datetime,
    seconds: float = DEFAULT_SECONDS,
) -> SweepResult:
    """Disable, on their panels, the active customers of a suspended reseller.

    Safe to repeat: customers it disabled before are disabled again (a no-op there) and
    stay marked, so a second run after a failure picks up what the first one missed.
    """
    return await _sweep(
        db, panels, Sweep.SUSPEND, telegram_id=telegram_id, actor=actor, now=now, seconds=seconds
    )


async def resume_customers(
    db: Database,
    panels: Panels,
    *,
    telegram_id: int,
    actor: str,
    now: dt.datetime,
    seconds: float = DEFAULT_SECONDS,
) -> SweepResult:
    """Enable again, on their panels, the customers ``suspend_customers`` disabled, for an
    active reseller. Those that fail stay marked, so a second run retries them."""
    return await _sweep(
        db, panels, Sweep.RESUME, telegram_id=telegram_id, actor=actor, now=now, seconds=seconds
    )
