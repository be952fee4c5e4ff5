"""What the contract suite (``test_contract*.py``) shares: the rig and its helpers.

Each scenario runs once per harness registered in ``HARNESSES``: the real adapter talks
HTTP to its fake panel on a loopback port, and the test checks both what the adapter
returns and what the fake panel now holds (``stored``), so a wrong unit or field name
fails.

What a harness must do for the suite to be meaningful:

- configure its adapter with a short timeout (well under a second), so the timeout
  scenarios are quick; the suite makes the fake hang for ``HANG_SECONDS``;
- configure a small page size where the panel pages (below ``LISTED_USERS``), so
  ``list_users`` crosses pages;
- use distinctive secrets (six characters or more) in its ``PanelConfig.credentials``,
  under keys naming what they are (``password``, ``token``, ``api_key``...), and keep
  that config in an attribute of the adapter: the suite checks no secret reaches a log
  record or an exception message;
- make ``seed(user, note=reference)`` leave the user exactly as the adapter would have
  made it for that reference;
- for a panel that counts no traffic (IPTV lines), set ``tracks_traffic = False`` on the
  harness: the traffic checks then expect no limit and nothing used, instead of the
  amounts asked for.

An empty registry fails every test: a suite that ran against nothing proves nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest

from bot.adapters.panels.base import GIB, NewUser, PanelAdapter, PanelUser
from tests.panels.harness import PanelHarness
from tests.panels.registry import HARNESSES

HANG_SECONDS = 5.0
# A call that meets a silent panel must give up well before it answers, retries included.
QUICK_SECONDS = HANG_SECONDS - 1.5
# More than any retry loop: every request of the call meets the failure.
EVERY_REQUEST = 50
LISTED_USERS = 23
NO_HARNESS = "<no panel harness registered>"


@dataclass
class Rig:
    name: str
    fake: PanelHarness
    adapter: PanelAdapter

    @property
    def tracks_traffic(self) -> bool:
        # Optional on a harness (not in the protocol): most panels count traffic.
        return bool(getattr(self.fake, "tracks_traffic", True))

    def traffic(self, amount: int | None) -> int | None:
        """What a panel reports for a limit or usage of ``amount``."""
        return amount if self.tracks_traffic else None

    def used(self, amount: int) -> int:
        return amount if self.tracks_traffic else 0

    def new_user(
        self,
        username: str | None = None,
        *,
        reference: str | None = None,
        days: float = 30,
        data_limit_bytes: int | None = 10 * GIB,
    ) -> NewUser:
        return NewUser(
            username=username or unique_name(),
            expires_at=whole_seconds(now() + dt.timedelta(days=days)),
            reference=reference or f"order:{uuid.uuid4().int % 10**9}",
            data_limit_bytes=data_limit_bytes,
            template=self.fake.template(),
        )

    async def created(
        self,
        *,
        reference: str | None = None,
        days: float = 30,
        data_limit_bytes: int | None = 10 * GIB,
    ) -> tuple[NewUser, PanelUser]:
        user = self.new_user(reference=reference, days=days, data_limit_bytes=data_limit_bytes)
        return user, await self.adapter.create(user)

    async def prepared(self) -> tuple[NewUser, PanelUser]:
        """A user on the panel (so the adapter has logged in) and another not yet made."""
        _, made = await self.created()
        return self.new_user(), made


def registered() -> list[str]:
    """The fixture's parameters; a placeholder when empty, so the suite fails loudly."""
    return sorted(HARNESSES) or [NO_HARNESS]


@asynccontextmanager
async def open_rig(name: str) -> AsyncIterator[Rig]:
    if name == NO_HARNESS:
        pytest.fail("tests/panels/registry.py HARNESSES is empty: no adapter was tested")
    fake = HARNESSES[name]()
    adapter = await fake.start()
    try:
        yield Rig(name, fake, adapter)
    finally:
        try:
            await adapter.aclose()
        finally:
            await fake.stop()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def whole_seconds(moment: dt.datetime) -> dt.datetime:
    # Every panel keeps at least whole seconds, so these round-trip exactly.
    return moment.replace(microsecond=0)


def unique_name() -> str:
    # Lower-case letters, digits and one underscore: valid on every panel we support.
    return f"c_{uuid.uuid4().hex[:10]}"


def assert_same_instant(got: dt.datetime | None, want: dt.datetime) -> None:
    assert got is not None, "expected an expiry, got none"
    assert got.tzinfo is not None, f"{got!r} is naive; adapters return aware UTC datetimes"
    assert abs(got - want) < dt.timedelta(seconds=1), f"{got} != {want}"
