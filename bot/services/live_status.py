"""A customer's subscription as its panel sees it now, for the customer's /status.

One ``get`` per customer at most every ``ttl`` seconds (answers are kept in this
process's memory), each within ``timeout`` seconds, through the panel's circuit breaker:
while the circuit is open the panel is not asked at all. Whenever the panel cannot say,
the caller shows what the database has.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select

from bot.adapters.panels.base import PanelError, PanelUser, UserState
from bot.db import Database
from bot.services.panel_provider import Panels
from bot.services.panels import PanelConfigError
from models import Customer, Plan

log = logging.getLogger(__name__)
MAX_CACHED = 10_000


class Source(StrEnum):
    LIVE = "live"  # the panel answered (now or within the cache's lifetime)
    MISSING = "missing"  # the panel answered that it has no such user
    UNAVAILABLE = "unavailable"  # no answer in time, an open circuit, or an error


@dataclass(frozen=True)
class LiveState:
    state: UserState
    expires_at: dt.datetime | None  # None: never expires
    used_bytes: int
    data_limit_bytes: int | None  # None: unlimited
    online: bool | None  # None: the panel does not say


@dataclass(frozen=True)
class Live:
    source: Source
    panel: str
    state: LiveState | None = None


def _state(user: PanelUser) -> LiveState:
    return LiveState(user.state, user.expires_at, user.used_bytes, user.data_limit_bytes,
                     user.online)  # fmt: skip


class LiveStatus:
    """Live state per customer, cached briefly; one per process (in ``bot_data``)."""

    def __init__(
        self,
        db: Database,
        panels: Panels,
        *,
        ttl_seconds: float,
        timeout_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.panels = db, panels
        self.ttl, self.timeout, self._clock = ttl_seconds, timeout_seconds, clock
        self._cache: dict[tuple[int, str], tuple[float, PanelUser | None]] = {}

    async def _where(self, customer_id: int) -> tuple[int, str] | None:
        async with self.db.transaction() as session:
            row = (
                await session.execute(
                    select(Plan.panel_id, Customer.external_id, Customer.username)
                    .join(Plan, Plan.id == Customer.plan_id)
                    .where(Customer.id == customer_id)
                )
            ).one_or_none()
        if row is None or row.panel_id is None:
            return None
        return row.panel_id, row.external_id or row.username

    async def of(self, customer_id: int) -> Live | None:
        """The customer's live state; None when its plan is not on a panel."""
        where = await self._where(customer_id)
        if where is None:
            return None
        panel_id, external_id = where
        try:
            view, _ = await self.panels.adapter(panel_id)
        except PanelConfigError:
            return Live(Source.UNAVAILABLE, "")
        cached = self._cache.get(where)
        if cached is not None and self._clock() - cached[0] < self.ttl:
            return self._live(view.name, cached[1])
        breaker = self.panels.breaker(panel_id)
        if breaker.is_open and not breaker.probe_due():
            return Live(Source.UNAVAILABLE, view.name)
        try:
            async with asyncio.timeout(self.timeout):
                user = await self.panels.call(panel_id, lambda a: a.get(external_id))
        except (PanelError, TimeoutError) as exc:
            log.warning("live status from panel %s: %s", view.name, type(exc).__name__)
            return Live(Source.UNAVAILABLE, view.name)
        now = self._clock()
        if len(self._cache) >= MAX_CACHED:  # keep memory bounded: drop what is stale
            self._cache = {k: v for k, v in self._cache.items() if now - v[0] < self.ttl}
        self._cache[where] = (now, user)
        return self._live(view.name, user)

    @staticmethod
    def _live(panel: str, user: PanelUser | None) -> Live:
        if user is None:
            return Live(Source.MISSING, panel)
        return Live(Source.LIVE, panel, _state(user))
