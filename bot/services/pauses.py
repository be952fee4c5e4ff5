"""Pausing a subscription: its days are frozen while it is paused and given back on resume.

The reseller allows so many pause days a year (``Reseller.max_pause_days``, 0: none).
Pausing is recorded first, then the panel is asked to disable the user; if the panel does
not, the pause is undone and the customer told to try later. Resuming asks the panel first
(the expiry moved by the paused time, then the user enabled) and records it after, so a
panel that fails leaves the subscription paused and nothing half done. A pause ends by
itself at its ``until`` (``resume_due``, run by a job), counted to that moment, not to when
the job came round.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.panels.base import PanelAdapter, PanelError
from bot.db import Database
from bot.services import ledger
from bot.services.alerts import Kind
from bot.services.customers import CustomerError, CustomerView, _load
from bot.services.outbox import Outgoing, enqueue
from bot.services.panel_provider import Panels
from bot.services.panels import PanelConfigError
from bot.services.portal import Allowance, allowance_of, open_pause, owned, whole_days
from bot.services.provisioning import ProvisioningError
from bot.services.resellers import require_by_telegram_id
from models import Customer, CustomerPause, CustomerStatus, Plan, Reseller, ResellerStatus

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_SECONDS = 10.0
MAX_ALLOWANCE = 365
# What the customer is offered (those within what is left of the allowance).
PAUSE_CHOICES = (3, 7, 14, 30)
# What a reseller may allow, per customer and year.
ALLOWANCE_CHOICES = (0, 7, 14, 30, 60, 90)
RESUMED_KIND = Kind.SUBSCRIPTION_RESUMED


class PauseError(CustomerError):
    code = "pause_refused"


@dataclass(frozen=True)
class Paused:
    customer: CustomerView
    until: dt.datetime
    allowance: Allowance


@dataclass(frozen=True)
class Resumed:
    customer: CustomerView
    frozen: dt.timedelta  # what the expiry moved by

    @property
    def days(self) -> int:
        return whole_days(self.frozen)


@dataclass(frozen=True)
class ResumeSweep:
    resumed: int
    failed: int


async def _panel_of(session: AsyncSession, customer: CustomerView) -> tuple[int, str] | None:
    """The panel the subscription lives on and its id there; None for a local plan."""
    panel_id = await session.scalar(select(Plan.panel_id).where(Plan.id == customer.plan.id))
    return None if panel_id is None else (panel_id, customer.external_id or customer.username)


async def _call(
    panels: Panels | None,
    panel_id: int,
    op: Callable[[PanelAdapter], Awaitable[T]],
    seconds: float,
) -> T:
    """One panel call within ``seconds``, refused at once while its circuit is open; any
    failure is a PauseError ``panel_unavailable`` (the caller undoes or keeps nothing)."""
    if panels is None:
        raise PauseError("This plan's panel is not set up here.", "panel_unavailable")
    try:
        await panels.guard(panel_id)
        async with asyncio.timeout(seconds):
            return await panels.call(panel_id, op)
    except (ProvisioningError, PanelConfigError, PanelError, TimeoutError) as exc:
        log.warning("pause: panel %s: %s", panel_id, type(exc).__name__)
        raise PauseError(
            "The panel could not be reached; nothing changed.", "panel_unavailable"
        ) from exc


# --- pausing ---------------------------------------------------------------------------


async def pause(
    db: Database,
    panels: Panels | None,
    *,
    chat_id: int,
    customer_id: int,
    days: int,
    now: dt.datetime,
    seconds: float = DEFAULT_SECONDS,
) -> Paused:
    """Pause the chat's subscription for ``days`` (within what is left of the allowance)."""
    async with db.transaction() as session:
        customer = await owned(session, chat_id, customer_id, lock=True)
        if customer.status == CustomerStatus.PAUSED:
            raise PauseError("The subscription is already paused.", "already_paused")
        if customer.status == CustomerStatus.CANCELLED:
            raise PauseError("The subscription was cancelled.", "cancelled")
        if customer.status != CustomerStatus.ACTIVE or customer.is_expired(now):
            raise PauseError("Only an active subscription can be paused.", "not_active")
        allowance = await allowance_of(session, customer, now)
        if allowance.max_days <= 0:
            raise PauseError("Your reseller does not allow pausing.", "pause_not_allowed")
        if not 1 <= days <= allowance.left:
            raise PauseError(
                f"{days} days is more than the {allowance.left} left this year.",
                "pause_over_allowance",
                days=days,
                left=allowance.left,
            )
        moved = await session.execute(
            update(Customer)
            .where(Customer.id == customer.id, Customer.status == CustomerStatus.ACTIVE)
            .values(status=CustomerStatus.PAUSED)
        )
        if ledger.rowcount(moved) != 1:
            raise PauseError("The subscription is already paused.", "already_paused")
        row = CustomerPause(
            customer_id=customer.id, started_at=now, until=now + dt.timedelta(days=days)
        )
        session.add(row)
        await session.flush()
        pause_id, until = row.id, row.until
        where = await _panel_of(session, customer)
    if where is not None:
        panel_id, external_id = where
        try:
            await _call(panels, panel_id, lambda a: a.suspend(external_id), seconds)
        except PauseError:
            await _undo_pause(db, pause_id, customer.id)
            raise
    async with db.transaction() as session:
        found = await _load(session, customer.id)
        assert found is not None
        return Paused(found, until, await allowance_of(session, found, now))


async def _undo_pause(db: Database, pause_id: int, customer_id: int) -> None:
    """The panel did not disable the user: as if the pause had never been asked for."""
    async with db.transaction() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id, Customer.status == CustomerStatus.PAUSED)
            .values(status=CustomerStatus.ACTIVE)
        )
        row = await session.get(CustomerPause, pause_id)
        if row is not None:
            await session.delete(row)


# --- resuming --------------------------------------------------------------------------


async def resume(
    db: Database,
    panels: Panels | None,
    *,
    customer_id: int,
    now: dt.datetime,
    chat_id: int | None = None,
    seconds: float = DEFAULT_SECONDS,
    notify: bool = False,
) -> Resumed:
    """End the pause: the expiry moves by the time it was paused (to its ``until`` at
    most) and the panel enables the user. ``chat_id``: the customer asking (checked);
    None: the job. ``notify``: tell the customer's chat (the job's automatic resume)."""
    async with db.transaction() as session:
        if chat_id is not None:
            customer = await owned(session, chat_id, customer_id)
        else:
            loaded = await _load(session, customer_id)
            if loaded is None:
                raise PauseError("No such subscription.", "not_linked")
            customer = loaded
        row = await open_pause(session, customer.id)
        if row is None or customer.status != CustomerStatus.PAUSED:
            raise PauseError("The subscription is not paused.", "not_paused")
        pause_id, started_at = row.id, row.started_at
        frozen = min(now, row.until) - started_at
        expires_at = customer.expires_at + frozen
        where = await _panel_of(session, customer)
        reseller_status = await session.scalar(
            select(Reseller.status).where(Reseller.id == customer.reseller_id)
        )
    # A suspended reseller's customers stay disabled: marked, reactivation enables it. The
    # panel's expiry moves all the same, or the paused days would be lost there.
    held = reseller_status == ResellerStatus.SUSPENDED
    if where is not None:
        panel_id, external_id = where
        await _call(
            panels,
            panel_id,
            lambda a: a.extend(external_id, expires_at=expires_at, reset_traffic=False),
            seconds,
        )
        # Some panels enable a user whose expiry moves: disabled again while held.
        state = (lambda a: a.suspend(external_id)) if held else (lambda a: a.resume(external_id))
        await _call(panels, panel_id, state, seconds)
    async with db.transaction() as session:
        closed = await session.execute(
            update(CustomerPause)
            .where(CustomerPause.id == pause_id, CustomerPause.resumed_at.is_(None))
            .values(resumed_at=started_at + frozen)
        )
        if ledger.rowcount(closed) != 1:
            raise PauseError("The subscription is not paused.", "not_paused")
        await session.execute(
            update(Customer)
            .where(Customer.id == customer.id, Customer.status == CustomerStatus.PAUSED)
            .values(
                status=CustomerStatus.ACTIVE,
                expires_at=expires_at,
                panel_suspended_at=now if held and where is not None else None,
            )
        )
        found = await _load(session, customer.id)
        assert found is not None
        chat = await session.scalar(select(Customer.chat_id).where(Customer.id == customer.id))
        if notify and chat is not None:
            notice = Outgoing(
                key=f"resumed:{pause_id}",
                chat_id=chat,
                kind=RESUMED_KIND,
                payload={"username": found.username, "expires_at": expires_at.isoformat()},
            )
            await enqueue(session, [notice], now)
        return Resumed(found, frozen)


async def resume_due(
    db: Database, panels: Panels | None, *, now: dt.datetime, seconds: float = DEFAULT_SECONDS
) -> ResumeSweep:
    """Resume every pause whose time is up; one the panel fails stays for the next run.

    A pause whose subscription is no longer paused (the reseller renewed it meanwhile) is
    closed as it stands."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(CustomerPause.id, CustomerPause.customer_id, Customer.status)
                .join(Customer, Customer.id == CustomerPause.customer_id)
                .where(CustomerPause.resumed_at.is_(None), CustomerPause.until <= now)
                .order_by(CustomerPause.until)
            )
        ).all()
        for pause_id, _, status in rows:
            if status != CustomerStatus.PAUSED:
                await session.execute(
                    update(CustomerPause).where(CustomerPause.id == pause_id).values(resumed_at=now)
                )
    resumed = failed = 0
    for _, customer_id, status in rows:
        if status != CustomerStatus.PAUSED:
            continue
        try:
            await resume(db, panels, customer_id=customer_id, now=now, seconds=seconds, notify=True)
        except PauseError as exc:
            if exc.code != "not_paused":  # resumed by the customer meanwhile: nothing to do
                log.warning("automatic resume of customer %s: %s", customer_id, exc.code)
                failed += 1
            continue
        resumed += 1
    return ResumeSweep(resumed, failed)


# --- the reseller's allowance ---------------------------------------------------------


@dataclass(frozen=True)
class PausePolicy:
    reseller_id: int
    reseller_name: str
    max_days: int


async def _policy(session: AsyncSession, reseller_id: int) -> PausePolicy:
    row = (
        await session.execute(
            select(Reseller.id, Reseller.name, Reseller.max_pause_days).where(
                Reseller.id == reseller_id
            )
        )
    ).one_or_none()
    if row is None:
        raise CustomerError("No such reseller.", "no_such_reseller")
    return PausePolicy(row.id, row.name, row.max_pause_days)


async def pause_policy(
    db: Database, *, telegram_id: int, reseller_id: int | None, admin: bool
) -> PausePolicy:
    """The allowance of ``reseller_id`` (an admin's choice) or of the asking reseller."""
    async with db.transaction() as session:
        if reseller_id is None or not admin:
            own = await require_by_telegram_id(session, telegram_id)
            if reseller_id is not None and reseller_id != own.id:
                raise CustomerError("No such reseller.", "no_such_reseller")
            reseller_id = own.id
        return await _policy(session, reseller_id)


async def set_pause_allowance(
    db: Database, *, telegram_id: int, reseller_id: int | None, admin: bool, days: int
) -> PausePolicy:
    """Set how many days a year each of the reseller's customers may pause."""
    if not 0 <= days <= MAX_ALLOWANCE:
        raise CustomerError(f"Between 0 and {MAX_ALLOWANCE} days.", "allowance_invalid")
    policy = await pause_policy(db, telegram_id=telegram_id, reseller_id=reseller_id, admin=admin)
    async with db.transaction() as session:
        await session.execute(
            update(Reseller).where(Reseller.id == policy.reseller_id).values(max_pause_days=days)
        )
        return await _policy(session, policy.reseller_id)
