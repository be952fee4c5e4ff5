"""Importing a panel's existing users as customers of one reseller, so a business that
already sells on a panel can move onto the bot.

Nothing is charged (no ledger movement) and nothing changes on the panel. A user becomes
a customer on the chosen plan with the panel's expiry (active, or expired if that is
past), its id on the panel and what the customer needs from it (subscription link,
credentials). Users who are customers already are left alone, so a second run imports
only what is new; usernames another customer (or a sale in flight) has are skipped and
listed, as are names that are not valid customer usernames and users without expiry.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.panels.base import PanelUser
from bot.db import Database
from bot.services import admin_log
from bot.services.customers import CustomerError, check_username
from bot.services.panel_provider import Panels, provisioned
from bot.services.panel_sync import read_users
from bot.services.panels import PanelView, by_name
from bot.services.resellers import ResellerView, require_by_telegram_id
from models import Customer, CustomerStatus, OrderStatus, Plan, SubscriptionOrder


class PanelImportError(Exception):
    """The import was refused before anything was written; the message says why."""


@dataclass(frozen=True)
class Imported:
    panel: str
    plan: str
    reseller: int  # Telegram id
    dry_run: bool
    active: tuple[str, ...] = ()
    expired: tuple[str, ...] = ()
    already: int = 0  # panel users that are customers here already
    clashes: tuple[str, ...] = ()  # the username belongs to another customer or sale
    invalid: tuple[str, ...] = ()  # not a valid customer username
    no_expiry: tuple[str, ...] = ()  # the bot needs an expiry; set one on the panel first

    @property
    def imported(self) -> int:
        return len(self.active) + len(self.expired)


@dataclass(frozen=True)
class _Target:
    panel: PanelView
    reseller: ResellerView
    plan_id: int
    plan_code: str


async def _target(db: Database, panel: str, telegram_id: int, plan_code: str) -> _Target:
    async with db.transaction() as session:
        found = await by_name(session, panel)
        reseller = await require_by_telegram_id(session, telegram_id)
        plan = await session.scalar(select(Plan).where(Plan.code == plan_code.strip()))
        if plan is None:
            raise PanelImportError(f"no plan with code {plan_code!r}; see `plan list`")
        if plan.panel_id != found.id:
            raise PanelImportError(
                f"plan {plan.code} is not on panel {found.name}; pick a plan that provisions there"
            )
        return _Target(found, reseller, plan.id, plan.code)


async def _taken(session: AsyncSession, panel_id: int) -> tuple[set[str], set[str]]:
    """(ids and names of this panel's customers, every username in use here)."""
    rows = (
        await session.execute(
            select(Customer.username, Customer.external_id, Plan.panel_id).join(
                Plan, Plan.id == Customer.plan_id
            )
        )
    ).all()
    here: set[str] = set()
    names: set[str] = set()
    for username, external_id, on_panel in rows:
        names.add(username.lower())
        if on_panel == panel_id:
            here.update(x.lower() for x in (username, external_id) if x)
    pending = await session.scalars(
        select(SubscriptionOrder.username).where(SubscriptionOrder.status == OrderStatus.PENDING)
    )
    names.update(name.lower() for name in pending)
    return here, names


def _customer(target: _Target, user: PanelUser, name: str, now: dt.datetime) -> Customer:
    assert user.expires_at is not None
    details = provisioned(user).details
    return Customer(
        reseller_id=target.reseller.id,
        username=name,
        plan_id=target.plan_id,
        expires_at=user.expires_at,
        status=CustomerStatus.ACTIVE if user.expires_at > now else CustomerStatus.EXPIRED,
        external_id=user.external_id,
        provider_details=json.dumps(details) if details else None,
        link_token=secrets.token_urlsafe(16),
        created_at=now,
    )


async def _write(
    db: Database,
    target: _Target,
    users: Sequence[PanelUser],
    *,
    now: dt.datetime,
    actor: str,
    dry_run: bool,
) -> Imported:
    active: list[str] = []
    expired: list[str] = []
    clashes: list[str] = []
    invalid: list[str] = []
    no_expiry: list[str] = []
    already = 0
    async with db.transaction() as session:
        here, names = await _taken(session, target.panel.id)
        for user in sorted(users, key=lambda u: u.username.lower()):
            if user.external_id.lower() in here or user.username.lower() in here:
                already += 1
                continue
            try:
                name = check_username(user.username)
            except CustomerError:
                invalid.append(user.username)
                continue
            if name in names:
                clashes.append(user.username)
                continue
            if user.expires_at is None:
                no_expiry.append(user.username)
                continue
            names.add(name)
            customer = _customer(target, user, name, now)
            (active if customer.status == CustomerStatus.ACTIVE else expired).append(name)
            if not dry_run:
                session.add(customer)
        result = Imported(
            target.panel.name, target.plan_code, target.reseller.telegram_id, dry_run,
            tuple(active), tuple(expired), already, tuple(clashes), tuple(invalid),
            tuple(no_expiry),
        )  # fmt: skip
        if result.imported and not dry_run:
            await admin_log.record(
                session, actor=actor, action="panel_import", now=now,
                reseller_id=target.reseller.id,
                after={
                    "panel": result.panel, "plan": result.plan, "active": len(active),
                    "expired": len(expired), "already": already, "clashes": len(clashes),
                    "invalid": len(invalid), "no_expiry": len(no_expiry),
                },
            )  # fmt: skip
    return result


async def import_users(
    db: Database,
    panels: Panels,
    *,
    panel: str,
    reseller_telegram_id: int,
    plan_code: str,
    now: dt.datetime,
    actor: str,
    dry_run: bool = False,
    seconds: float = 300,
) -> Imported:
    """Make every user of ``panel`` not yet a customer a customer of the reseller."""
    target = await _target(db, panel, reseller_telegram_id, plan_code)
    try:
        users = await read_users(panels, target.panel, seconds=seconds)
    except TimeoutError:
        raise PanelImportError(
            f"panel {target.panel.name} did not list its users in time; nothing was imported"
        ) from None
    return await _write(db, target, users, now=now, actor=actor, dry_run=dry_run)
