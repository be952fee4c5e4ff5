"""Selling into panels: one cached adapter per panel, a circuit breaker, the provider.

The breaker lives in this process's memory (one per panel): after ``failures_to_open``
calls in a row without a usable answer, sales on that panel are refused before any
credit is held, until a probe (one read call, at most every ``probe_after_seconds``)
answers. Several bot processes each keep their own; a restart closes every circuit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot import metrics
from bot.adapters.panels.base import (
    NewUser,
    PanelAdapter,
    PanelAuthFailed,
    PanelError,
    PanelUnavailable,
    PanelUser,
    UserExists,
)
from bot.db import Database
from bot.services.panels import PanelView, SecretBox, build_adapter, is_enabled, opened, probe
from bot.services.provisioning import (
    SUBSCRIPTION_URL,
    CreateSubscription,
    ExtendSubscription,
    OutcomeUnknown,
    PanelDown,
    Provisioned,
    ProvisioningError,
)

T = TypeVar("T")
# Gateway errors: the proxy lost the panel mid-request, which may still be working on it.
_IN_FLIGHT_STATUSES = {502, 504}
# A panel keeps expiries to the second (some round): this close counts as the same.
EXPIRY_TOLERANCE = dt.timedelta(seconds=2)


class Breaker:
    def __init__(
        self,
        failures_to_open: int,
        probe_after_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures_to_open = failures_to_open
        self.probe_after = probe_after_seconds
        self._clock = clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.opened_at is not None

    def probe_due(self) -> bool:
        return self.opened_at is not None and self._clock() - self.opened_at >= self.probe_after

    def succeeded(self) -> None:
        self.failures, self.opened_at = 0, None

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= self.failures_to_open:
            self.opened_at = self._clock()


class Panels:
    """The configured panels as this process uses them; closed on shutdown."""

    def __init__(
        self,
        db: Database,
        box: SecretBox,
        *,
        failures_to_open: int = 3,
        probe_after_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db, self.box = db, box
        self._failures_to_open, self._probe_after, self._clock = (
            failures_to_open, probe_after_seconds, clock,
        )  # fmt: skip
        self._adapters: dict[int, tuple[PanelView, PanelAdapter]] = {}
        self._breakers: dict[int, Breaker] = {}
        self._lock = asyncio.Lock()

    def breaker(self, panel_id: int) -> Breaker:
        if panel_id not in self._breakers:
            self._breakers[panel_id] = Breaker(
                self._failures_to_open, self._probe_after, self._clock
            )
        return self._breakers[panel_id]

    async def adapter(self, panel_id: int) -> tuple[PanelView, PanelAdapter]:
        async with self._lock:
            if panel_id not in self._adapters:
                view, credentials = await opened(self.db, self.box, panel_id)
                self._adapters[panel_id] = (view, build_adapter(view, credentials))
            metrics.note_panel(self._adapters[panel_id][0].name)
            return self._adapters[panel_id]

    async def call(self, panel_id: int, op: Callable[[PanelAdapter], Awaitable[T]]) -> T:
        """Run one operation, telling the breaker whether the panel answered."""
        view, adapter = await self.adapter(panel_id)
        breaker = self.breaker(panel_id)
        started, error = time.perf_counter(), None
        try:
            result = await op(adapter)
        except PanelUnavailable:
            breaker.failed()
            error = "unavailable"
            raise
        except PanelError:
            breaker.succeeded()  # a refusal is an answer
            error = "refused"
            raise
        except asyncio.CancelledError:  # the sale's own deadline passed
            breaker.failed()
            error = "timeout"
            raise
        finally:
            metrics.panel_call(view.name, time.perf_counter() - started, error)
        breaker.succeeded()
        return result

    async def guard(self, panel_id: int) -> PanelView:
        """Refuse at once (``PanelDown``) while the panel's circuit is open; when a probe
        is due, probe first. Also refuses a panel an operator disabled."""
        view, _ = await self.adapter(panel_id)
        if not await is_enabled(self.db, panel_id):  # the live flag, not the cached view
            raise ProvisioningError(
                f"panel {view.name} is disabled", "panel_disabled", panel=view.name
            )
        breaker = self.breaker(panel_id)
        if breaker.is_open:
            if not breaker.probe_due():
                raise PanelDown(view.name)
            try:
                await self.call(panel_id, probe)
            except PanelError:
                breaker.opened_at = self._clock()  # wait a full interval before the next
                raise PanelDown(view.name) from None
        return view

    async def probe_open(self) -> None:
        """Probe every panel whose circuit is open and due (the reconciliation job)."""
        for panel_id, breaker in list(self._breakers.items()):
            if breaker.probe_due():
                try:
                    await self.call(panel_id, probe)
                except PanelError:
                    breaker.opened_at = self._clock()

    def provider(self, panel_id: int) -> PanelProvider:
        return PanelProvider(self, panel_id)

    async def aclose(self) -> None:
        async with self._lock:
            for _, adapter in self._adapters.values():
                await adapter.aclose()
            self._adapters.clear()


def provisioned(user: PanelUser) -> Provisioned:
    details = dict(user.credentials)
    if user.subscription_url:
        details[SUBSCRIPTION_URL] = user.subscription_url
    return Provisioned(external_id=user.external_id, details=details)


class PanelProvider:
    """A ``Provider`` over one panel, mapping the adapter's errors to the sale's terms."""

    def __init__(self, panels: Panels, panel_id: int) -> None:
        self.panels, self.panel_id = panels, panel_id

    async def _call(self, op: Callable[[PanelAdapter], Awaitable[T]]) -> T:
        view, _ = await self.panels.adapter(self.panel_id)
        try:
            return await self.panels.call(self.panel_id, op)
        except UserExists as exc:
            raise ProvisioningError(
                f"the username is already taken on panel {view.name}",
                "panel_username_taken",
                panel=view.name,
            ) from exc
        except PanelAuthFailed as exc:
            raise ProvisioningError(
                f"panel {view.name} refused the bot's credentials; tell an admin",
                "panel_credentials",
                panel=view.name,
            ) from exc
        except PanelUnavailable as exc:
            answered = exc.status is not None and exc.status not in _IN_FLIGHT_STATUSES
            code = f" (HTTP {exc.status})" if exc.status else ""
            raise OutcomeUnknown(
                view.name,
                f"panel {view.name} did not answer properly{code}",
                answered=answered,
                status=exc.status,
            ) from exc
        except PanelError as exc:
            code = f" (HTTP {exc.status})" if exc.status else ""
            params: dict[str, str | int] = {"panel": view.name}
            if exc.status:
                params["status"] = exc.status
            raise ProvisioningError(
                f"panel {view.name} refused the request{code}", "panel_refused", **params
            ) from exc

    async def create(self, request: CreateSubscription) -> Provisioned:
        user = NewUser(
            username=request.username,
            expires_at=request.expires_at,
            reference=request.reference,
            data_limit_bytes=request.data_limit_bytes,
            template=request.template,
        )
        return provisioned(await self._call(lambda a: a.create(user)))

    async def extend(self, request: ExtendSubscription) -> Provisioned:
        external_id = request.external_id or request.username
        made = await self._call(
            lambda a: a.extend(
                external_id, expires_at=request.expires_at, reset_traffic=request.reset_traffic
            )
        )
        return provisioned(made)

    async def created(self, username: str, reference: str) -> Provisioned | None:
        """The user this order created, or None when the panel has no such user of ours."""
        user = await self._call(lambda a: a.find(username))
        if user is None or user.reference != reference:
            return None
        return provisioned(user)

    async def extended(self, external_id: str, expires_at: dt.datetime) -> Provisioned | None:
        """The user if the panel has it at (or past) the expiry this order asked for."""
        user = await self._call(lambda a: a.get(external_id))
        if user is None or user.expires_at is None:
            return None
        if user.expires_at < expires_at - EXPIRY_TOLERANCE:
            return None
        return provisioned(user)
