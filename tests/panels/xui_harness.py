"""The contract suite's harness for 3x-ui: the fake panel and an adapter pointed at it."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from bot.adapters.panels.base import NewUser, PanelConfig
from bot.adapters.panels.xui import XuiAdapter
from tests.panels.fake_xui import FakeXui, from_ms, now, to_ms
from tests.panels.harness import StoredUser


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
