"""What every panel adapter implements, and the errors it may raise.

An adapter speaks one panel's HTTP API (through ``httpx``) and turns it into these plain
values. It knows nothing of the ledger, of Telegram or of any language: the sale decides
what to do with a result or an error.

Idempotency: every user an adapter creates carries a *reference* (derived from the
order, e.g. ``order:42``) where the panel keeps free text (a note or comment), so a create
repeated after a timeout or a crash can tell "already made by this order" (treated as
done) from "someone else's user with that name" (``UserExists``).

Errors say what is known about the outcome, which is what the caller needs:

- ``PanelRejected`` (and its kinds): the panel refused; nothing was done.
- ``PanelUnavailable``: the outcome is unknown (timeout, connection lost, 5xx, a body
  that is not what the panel sends). Never treat it as "nothing happened": ask the
  panel (``get``) before releasing money.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

GIB = 1024**3


class PanelError(Exception):
    """A panel call did not do what was asked. ``code`` is stable, for the presentation."""

    code = "panel_error"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PanelRejected(PanelError):
    """The panel refused the request; nothing changed there."""

    code = "panel_rejected"


class PanelAuthFailed(PanelRejected):
    """The credentials were refused even after logging in again."""

    code = "panel_auth_failed"


class UserNotFound(PanelRejected):
    code = "panel_user_not_found"


class UserExists(PanelRejected):
    """A user with this name exists on the panel and was not made by this reference."""

    code = "panel_user_exists"


class PanelUnavailable(PanelError):
    """No usable answer (timeout, network, 5xx, garbage): the outcome is unknown."""

    code = "panel_unavailable"


class UserState(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # suspended by an admin or by us
    EXPIRED = "expired"
    LIMITED = "limited"  # traffic limit reached
    ON_HOLD = "on_hold"  # created, not yet started (Marzban's on_hold)


@dataclass(frozen=True)
class PanelConfig:
    """One configured panel: where it is and how to log in. Secrets stay in here."""

    base_url: str
    # Panel-specific credentials, e.g. {"username": ..., "password": ...} or {"token": ...};
    # kept out of repr() so a logged config never shows them.
    credentials: Mapping[str, str] = field(repr=False)
    timeout_seconds: float = 10.0
    # Panel-specific settings that are not secret (e.g. XUI.one's access code path).
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewUser:
    """A user to create on a panel for one order."""

    username: str
    expires_at: dt.datetime  # timezone-aware, UTC
    reference: str  # e.g. "order:42"; stored in the panel's note/comment
    data_limit_bytes: int | None = None  # None: unlimited
    # What the plan says about where the user goes on this panel, panel-specific:
    # Marzban {"proxies": {...}, "inbounds": {...}} or PasarGuard {"group_ids": [...]},
    # 3x-ui {"inbound_ids": [...]}, Remnawave {"squads": [...]},
    # XUI.one {"package_id": 3, "bouquets": [...], "max_connections": 1}.
    template: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PanelUser:
    """A user as the panel reports it, in plain units (UTC datetimes, bytes)."""

    username: str
    # The id the adapter's other calls take: Marzban/PasarGuard the username, 3x-ui the
    # client's email, Remnawave its numeric id, XUI.one the line id.
    external_id: str
    state: UserState
    expires_at: dt.datetime | None  # None: never expires
    used_bytes: int = 0
    data_limit_bytes: int | None = None
    online: bool | None = None  # None: the panel does not say
    reference: str | None = None  # read back from the note/comment
    subscription_url: str | None = None
    # What a customer needs besides the link, e.g. an IPTV line's username and password.
    credentials: Mapping[str, str] = field(default_factory=dict)


class PanelAdapter(Protocol):
    """One panel. Every method is one or a few HTTP calls; none holds a database lock."""

    name: str  # "marzban", "pasarguard", "3x-ui", "remnawave", "xui-one", "webhook"

    async def create(self, user: NewUser) -> PanelUser:
        """Create the user. If it already exists with the same reference, return it
        (a repeated create is done, not an error); with another reference raise
        ``UserExists``."""
        ...

    async def extend(
        self, external_id: str, *, expires_at: dt.datetime, reset_traffic: bool = False
    ) -> PanelUser:
        """Set the user's expiry to ``expires_at`` (the caller computes it) and enable it;
        ``reset_traffic`` zeroes its used traffic where the panel can."""
        ...

    async def suspend(self, external_id: str) -> PanelUser: ...

    async def resume(self, external_id: str) -> PanelUser: ...

    async def delete(self, external_id: str) -> None:
        """Remove the user; deleting one that is not there raises ``UserNotFound``."""
        ...

    async def get(self, external_id: str) -> PanelUser | None:
        """The user as it is now, or None when the panel has no such user."""
        ...

    async def find(self, username: str) -> PanelUser | None:
        """Look a user up by the username we gave it (for reconciliation after a crash)."""
        ...

    def list_users(self) -> AsyncIterator[PanelUser]:
        """Every user on the panel, page by page (for reconciliation and import)."""
        ...

    async def aclose(self) -> None: ...
