"""The second reconciliation: the bot's active customers against what each panel has.

It reads every user of a panel and compares them with the customers this database
counts as active on the plans of that panel:

- *missing*: active here, not on the panel;
- *expired early*: the panel's expiry is earlier than the bot's, or the panel says
  expired while the bot counts days left;
- *disabled*: disabled on the panel while active here;
- *unknown*: on the panel, but no customer (of any status) and no sale in flight here.

It changes nothing, on the panel or here: the report goes to the admins, who decide.
A panel that does not answer gives a report that says so, never an exception.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from bot.adapters.panels.base import PanelAdapter, PanelError, PanelUser, UserState
from bot.db import Database
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.panel_provider import Panels
from bot.services.panels import PanelConfigError, PanelView, by_name, list_panels
from models import Customer, CustomerStatus, OrderStatus, Plan, SubscriptionOrder

log = logging.getLogger(__name__)

# Panels keep expiries in their own units and some round them: closer than this is equal.
EXPIRY_TOLERANCE = dt.timedelta(hours=1)
# How many items of each category a queued report carries; the counts are always whole.
REPORT_ITEMS = 10


@dataclass(frozen=True)
class Difference:
    """One customer or panel user that does not agree; either side may be absent."""

    username: str
    bot_expires_at: dt.datetime | None = None
    panel_expires_at: dt.datetime | None = None
    panel_state: UserState | None = None


@dataclass(frozen=True)
class PanelReport:
    panel: str
    # None when the panel was read; otherwise why it could not be checked.
    error: str | None = None
    customers: int = 0  # active customers compared
    panel_users: int = 0
    missing: tuple[Difference, ...] = ()
    expired_early: tuple[Difference, ...] = ()
    disabled: tuple[Difference, ...] = ()
    unknown: tuple[Difference, ...] = ()

    @property
    def checked(self) -> bool:
        return self.error is None

    @property
    def differences(self) -> int:
        return len(self.missing) + len(self.expired_early) + len(self.disabled) + len(self.unknown)

    @property
    def clean(self) -> bool:
        return self.checked and self.differences == 0


@dataclass(frozen=True)
class _Known:
    """What this database knows of one panel: active customers, every name in use."""

    active: dict[str, tuple[str, dt.datetime]]  # external id -> (username, expiry)
    names: frozenset[str]  # customers' usernames and external ids, any status
    in_flight: frozenset[str]  # usernames of sales still pending on this panel


async def _known(db: Database, panel_id: int, now: dt.datetime) -> _Known:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(
                    Customer.username, Customer.external_id, Customer.status, Customer.expires_at
                )
                .join(Plan, Plan.id == Customer.plan_id)
                .where(Plan.panel_id == panel_id)
            )
        ).all()
        pending = await session.scalars(
            select(SubscriptionOrder.username).where(
                SubscriptionOrder.panel_id == panel_id,
                SubscriptionOrder.status == OrderStatus.PENDING,
            )
        )
        in_flight = frozenset(name.lower() for name in pending)
    active: dict[str, tuple[str, dt.datetime]] = {}
    names: set[str] = set()
    for username, external_id, status, expires_at in rows:
        names.add(username.lower())
        if external_id:
            names.add(external_id.lower())
        if status == CustomerStatus.ACTIVE and expires_at > now:
            active[(external_id or username).lower()] = (username, expires_at)
    return _Known(active, frozenset(names), in_flight)


def _compare(panel: str, known: _Known, users: Sequence[PanelUser]) -> PanelReport:
    by_id = {u.external_id.lower(): u for u in users}
    by_name = {u.username.lower(): u for u in users}
    missing: list[Difference] = []
    early: list[Difference] = []
    disabled: list[Difference] = []
    for key, (username, expires_at) in sorted(known.active.items(), key=lambda i: i[1][0]):
        user = by_id.get(key) or by_name.get(username.lower())
        if user is None:
            missing.append(Difference(username, bot_expires_at=expires_at))
            continue
        found = Difference(username, expires_at, user.expires_at, user.state)
        if user.state == UserState.DISABLED:
            disabled.append(found)
        elif user.state == UserState.EXPIRED or (
            user.expires_at is not None and user.expires_at < expires_at - EXPIRY_TOLERANCE
        ):
            early.append(found)
    unknown = [
        Difference(u.username, panel_expires_at=u.expires_at, panel_state=u.state)
        for u in sorted(users, key=lambda u: u.username.lower())
        if u.external_id.lower() not in known.names
        and u.username.lower() not in known.names
        and u.username.lower() not in known.in_flight
    ]
    return PanelReport(
        panel=panel,
        customers=len(known.active),
        panel_users=len(users),
        missing=tuple(missing),
        expired_early=tuple(early),
        disabled=tuple(disabled),
        unknown=tuple(unknown),
    )


async def _all_users(adapter: PanelAdapter) -> list[PanelUser]:
    return [user async for user in adapter.list_users()]


async def read_users(panels: Panels, panel: PanelView, *, seconds: float) -> list[PanelUser]:
    """Every user of the panel, through the breaker (an open circuit is not asked)."""
    breaker = panels.breaker(panel.id)
    if breaker.is_open and not breaker.probe_due():
        raise PanelConfigError(f"panel {panel.name} is not answering (its circuit is open)")
    async with asyncio.timeout(seconds):
        return await panels.call(panel.id, _all_users)


def _why(exc: BaseException, panel: str) -> str:
    if isinstance(exc, TimeoutError):
        return f"panel {panel} did not answer in time"
    if isinstance(exc, PanelConfigError):
        return str(exc)
    code = f" (HTTP {exc.status})" if isinstance(exc, PanelError) and exc.status else ""
    return f"panel {panel} did not answer properly{code}"


async def compare_panel(
    db: Database, panels: Panels, panel: PanelView, *, now: dt.datetime, seconds: float = 120
) -> PanelReport:
    """One panel's report; a panel that cannot be read gives a report saying why."""
    try:
        users = await read_users(panels, panel, seconds=seconds)
    except (PanelError, PanelConfigError, TimeoutError) as exc:
        log.warning("panel check: %s could not be read: %s", panel.name, type(exc).__name__)
        return PanelReport(panel=panel.name, error=_why(exc, panel.name))
    return _compare(panel.name, await _known(db, panel.id, now), users)


async def compare(
    db: Database,
    panels: Panels,
    *,
    now: dt.datetime,
    name: str | None = None,
    seconds: float = 120,
) -> list[PanelReport]:
    """Reports for every enabled panel, or for the one named (enabled or not)."""
    if name is not None:
        async with db.transaction() as session:
            chosen = [await by_name(session, name)]
    else:
        chosen = [p for p in await list_panels(db) if p.enabled]
    return [await compare_panel(db, panels, p, now=now, seconds=seconds) for p in chosen]


def _items(found: Sequence[Difference]) -> list[dict[str, str | None]]:
    return [
        {
            "username": d.username,
            "bot": d.bot_expires_at.isoformat() if d.bot_expires_at else None,
            "panel": d.panel_expires_at.isoformat() if d.panel_expires_at else None,
            "state": d.panel_state.value if d.panel_state else None,
        }
        for d in found[:REPORT_ITEMS]
    ]


def notice(report: PanelReport, chat_id: int, day: dt.date) -> Outgoing:
    """The admins' message for one panel's report, keyed once per panel and day."""
    if not report.checked:
        return Outgoing(
            key=f"panel-check-failed:{report.panel}:{day.isoformat()}",
            chat_id=chat_id,
            kind=Kind.PANEL_CHECK,
            payload={"panel": report.panel, "error": report.error},
        )
    categories = {
        "missing": report.missing,
        "expired_early": report.expired_early,
        "disabled": report.disabled,
        "unknown": report.unknown,
    }
    payload: dict[str, object] = {
        "panel": report.panel,
        "error": None,
        "customers": report.customers,
        "panel_users": report.panel_users,
    }
    for category, found in categories.items():
        payload[category] = {"count": len(found), "items": _items(found)}
    return Outgoing(
        key=f"panel-check:{report.panel}:{day.isoformat()}",
        chat_id=chat_id,
        kind=Kind.PANEL_CHECK,
        payload=payload,
    )


async def queue_reports(
    db: Database,
    reports: Sequence[PanelReport],
    *,
    chat_id: int | None,
    now: dt.datetime,
    day: dt.date,
) -> int:
    """Queue one message per panel that differs or could not be read; none when clean."""
    messages = [notice(r, chat_id, day) for r in reports if not r.clean] if chat_id else []
    if not messages:
        return 0
    async with db.transaction() as session:
        return await enqueue(session, messages, now)
