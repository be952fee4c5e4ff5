"""What the contract suite needs from each panel's fake.

Each fake panel is a small aiohttp server on a loopback port that answers like the real
panel (paths, field names, units, status codes, error bodies and known quirks taken from
the panel's own API definition). A harness starts it, builds the real adapter pointed at
it, and lets a test look at and disturb the fake's state.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Protocol

from bot.adapters.panels.base import NewUser, PanelAdapter


@dataclass(frozen=True)
class StoredUser:
    """A user as the fake panel holds it, in plain units, for assertions."""

    username: str
    enabled: bool
    expires_at: dt.datetime | None
    data_limit_bytes: int | None
    used_bytes: int
    note: str | None  # where the adapter put the reference


class PanelHarness(Protocol):
    name: str

    async def start(self) -> PanelAdapter:
        """Start the fake panel and return an adapter configured for it."""
        ...

    async def stop(self) -> None: ...

    def template(self) -> dict[str, Any]:
        """A plan template valid on this fake (inbounds, groups, squads, package...)."""
        ...

    # --- looking at the fake ---
    def stored(self, username: str) -> StoredUser | None: ...

    def login_count(self) -> int:
        """How many times the adapter logged in (0 for panels with a static token)."""
        ...

    # --- changing the fake behind the adapter's back ---
    def seed(self, user: NewUser, *, note: str | None) -> None:
        """Put a user on the panel directly (as if an admin made it there)."""
        ...

    def set_used(self, username: str, used_bytes: int) -> None: ...

    def expire_auth(self) -> None:
        """Invalidate the session/token the adapter holds, as the panel does after a
        while; panels with a static API token may make this a no-op."""
        ...

    def fail_next(self, status: int, times: int = 1) -> None:
        """The next ``times`` requests answer ``status`` with the panel's error body."""
        ...

    def garbage_next(self, times: int = 1) -> None:
        """The next ``times`` requests answer 200 with a body that is not JSON."""
        ...

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """The next ``times`` requests answer only after ``seconds`` (past the timeout)."""
        ...
