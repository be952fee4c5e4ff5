"""The contract suite's harness for 3x-ui (the fake panel and an adapter pointed at it),
and the builders the 3x-ui tests share."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from bot.adapters.panels.base import GIB, NewUser, PanelConfig
from bot.adapters.panels.xui import XuiAdapter
from tests.panels.fake_xui import Client, FakeXui
from tests.panels.harness import StoredUser
from tests.panels.xui_wire import from_ms, now, to_ms


class XuiHarness:
    """The contract suite's handle on the fake; ``mode`` is "cookie" or "token"."""

    name = "3x-ui"

    def __init__(self, *, mode: str = "cookie", csrf: bool = True, timeout: float = 0.5) -> None:
        self.fake = FakeXui(csrf=csrf)
        self.mode = mode
        self.timeout = timeout
        self.adapter: XuiAdapter | None = None

    def config(self, **options: Any) -> PanelConfig:
        if self.mode == "token":
            credentials = {"token": self.fake.token}
        else:
            credentials = {"username": self.fake.username, "password": self.fake.password}
        # A small page, so listing the contract's users crosses pages.
        return PanelConfig(self.fake.url, credentials, self.timeout, {"page_size": 10} | options)

    async def start(self, **options: Any) -> XuiAdapter:
        await self.fake.start()
        self.adapter = XuiAdapter(self.config(**options))
        return self.adapter

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.aclose()
        await self.fake.stop()

    def template(self) -> dict[str, Any]:
        return {"inbound_ids": [1]}

    def stored(self, username: str) -> StoredUser | None:
        c = self.fake.clients.get(username)
        if c is None:
            return None
        r = c.record
        return StoredUser(
            username=c.email,
            enabled=r["enable"],
            expires_at=from_ms(r["expiryTime"]),
            data_limit_bytes=r["totalGB"] or None,
            used_bytes=c.up + c.down,
            note=r["comment"] or None,
        )

    def login_count(self) -> int:
        return self.fake.logins

    def seed(self, user: NewUser, *, note: str | None) -> None:
        expiry = to_ms(user.expires_at)
        record = {
            "email": user.username,
            "uuid": str(uuid.uuid4()),
            "subId": secrets.token_hex(8),
            "expiryTime": expiry,
            "totalGB": user.data_limit_bytes or 0,
            "comment": note or "",
            # The panel's traffic job switches off a client once it has expired.
            "enable": expiry > to_ms(now()),
        }
        self.fake.put(record, list(user.template.get("inbound_ids") or [1]))

    def set_used(self, username: str, used_bytes: int) -> None:
        c = self.fake.clients[username]
        c.up, c.down = used_bytes // 4, used_bytes - used_bytes // 4

    def expire_auth(self) -> None:
        self.fake.expire_sessions()

    def fail_next(self, status: int, times: int = 1) -> None:
        self.fake.fail_next(status, times)

    def garbage_next(self, times: int = 1) -> None:
        self.fake.garbage_next(times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self.fake.hang_next(seconds, times)


# --- for the 3x-ui tests ------------------------------------------------------------

Open = Callable[..., Awaitable[tuple[XuiHarness, XuiAdapter]]]
EXPIRY = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
EXPIRY_MS = 1_893_553_445_000  # EXPIRY in epoch milliseconds, worked out by hand


@asynccontextmanager
async def xui_panels() -> AsyncIterator[Open]:
    """Opens fake panels with their adapters, and stops them all at the end."""
    opened: list[XuiHarness] = []

    async def _open(options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        harness = XuiHarness(**kwargs)
        opened.append(harness)
        return harness, await harness.start(**(options or {}))

    try:
        yield _open
    finally:
        for harness in opened:
            await harness.stop()


def new_user(name: str = "alice", **changes: Any) -> NewUser:
    fields: dict[str, Any] = {
        "username": name,
        "expires_at": EXPIRY,
        "reference": f"order:{name}",
        "data_limit_bytes": 7 * GIB,
        "template": {"inbound_ids": [1]},
    }
    return NewUser(**(fields | changes))


def put(harness: XuiHarness, email: str, **record: Any) -> Client:
    """A client an admin made on the panel, with the record fields given."""
    return harness.fake.put({"email": email, "subId": f"sub-{email}", **record}, [1])


async def panel_session(panel: XuiHarness) -> httpx.AsyncClient:
    """A logged-in cookie session on the fake, as a browser would hold it."""
    session = httpx.AsyncClient()
    token = (await session.get(f"{panel.fake.url}/csrf-token")).json()["obj"]
    form = {"username": panel.fake.username, "password": panel.fake.password}
    headers = {"X-CSRF-Token": token}
    await session.post(f"{panel.fake.url}/login", data=form, headers=headers)
    session.headers["X-CSRF-Token"] = token
    return session
