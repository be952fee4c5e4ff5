"""A fake operator endpoint for the webhook panel, built from the contract in
``bot/adapters/panels/webhook.py`` the way a careful operator would build it.

It checks the signature over the raw body with its own HMAC code (not the adapter's), in
constant time, then the timestamp window, then refuses any ``request_id`` it has seen;
only then does it act. Users live in memory. By default a taken username is answered
409 ``exists`` (the simpler choice the contract allows); ``idempotent_create`` answers
200 with the user when the reference matches instead.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.adapters.panels.base import NewUser, PanelAdapter, PanelConfig
from bot.adapters.panels.webhook import WebhookAdapter
from tests.panels.harness import StoredUser

PATH = "/hook"
WINDOW_SECONDS = 300
Answer = tuple[int, Any]


@dataclass(frozen=True)
class Received:
    """A request as it arrived, to replay or tamper with, and what the fake made of it."""

    headers: dict[str, str]
    body: bytes
    verdict: str  # "accepted", "scripted" (a failure asked for) or the refusal's code


@dataclass
class Account:
    id: str
    username: str
    expires_at: int | None
    data_limit_bytes: int | None
    reference: str | None
    enabled: bool = True
    used_bytes: int = 0
    password: str = ""


def refusal(status: int, code: str, message: str) -> Answer:
    return status, {"ok": False, "error": {"code": code, "message": message}}


class FakeWebhook:
    def __init__(self, *, secret: str, clock: Callable[[], float] = time.time) -> None:
        self.secret = secret
        self.clock = clock
        self.idempotent_create = False
        self.accounts: dict[str, Account] = {}
        self.received: list[Received] = []
        self._ids = itertools.count(1001)
        self._seen: dict[str, float] = {}
        self._fail: list[int] = []
        self._garbage = 0
        self._hang: list[float] = []
        self._scripted: list[Answer] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    # --- scripting ------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1) -> None:
        self._fail.extend([status] * times)

    def garbage_next(self, times: int = 1) -> None:
        self._garbage += times

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self._hang.extend([seconds] * times)

    def answer_next(self, status: int, body: Any) -> None:
        """The next trusted request gets this answer (a dict is sent as JSON) instead."""
        self._scripted.append((status, body))

    def add(self, username: str, **fields: Any) -> Account:
        account = Account(
            id=f"u-{next(self._ids)}",
            username=username,
            expires_at=fields.pop("expires_at", None),
            data_limit_bytes=fields.pop("data_limit_bytes", None),
            reference=fields.pop("reference", None),
            password=secrets.token_urlsafe(9),
            **fields,
        )
        self.accounts[account.id] = account
        return account

    def by_username(self, username: str) -> Account | None:
        return next((a for a in self.accounts.values() if a.username == username), None)

    def accepted(self) -> list[dict[str, Any]]:
        """The bodies of the requests that were trusted and acted on."""
        return [json.loads(r.body) for r in self.received if r.verdict == "accepted"]

    # --- the endpoint ---------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if self._fail:
            status = self._fail.pop(0)
            self.received.append(Received(dict(request.headers), raw, "scripted"))
            code = "internal" if status >= 500 else "invalid"
            return self._send(refusal(status, code, "scripted failure"))
        if self._garbage:
            self._garbage -= 1
            return web.Response(text="<html>starting up</html>", content_type="text/html")
        status, answer = self._trusted(request, raw)
        verdict = "accepted" if status == 200 else answer["error"]["code"]
        self.received.append(Received(dict(request.headers), raw, verdict))
        if status != 200:
            return self._send((status, answer))
        result = self._scripted.pop(0) if self._scripted else self._act(answer)
        if self._hang:  # the work is done; only the answer is late
            await asyncio.sleep(self._hang.pop(0))
        return self._send(result)

    def _trusted(self, request: web.Request, raw: bytes) -> Answer:
        """(200, the parsed body) for a request to act on, else the refusal."""
        timestamp = request.headers.get("X-Timestamp", "")
        given = request.headers.get("X-Signature", "")
        mac = hmac.new(self.secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256)
        if not hmac.compare_digest(given.encode(), f"sha256={mac.hexdigest()}".encode()):
            return refusal(401, "bad_signature", "the signature does not match")
        now = self.clock()
        if not timestamp.isdigit() or abs(now - int(timestamp)) > WINDOW_SECONDS:
            return refusal(401, "stale_timestamp", "the timestamp is outside the window")
        try:
            body = json.loads(raw)
        except ValueError:
            return refusal(422, "invalid", "the body is not JSON")
        request_id = body.get("request_id") if isinstance(body, dict) else None
        if not isinstance(request_id, str) or not request_id:
            return refusal(422, "invalid", "no request_id")
        self._seen = {k: t for k, t in self._seen.items() if now - t <= 2 * WINDOW_SECONDS}
        if request_id in self._seen:
            return refusal(401, "replayed", "this request was already received")
        self._seen[request_id] = now
        return 200, body

    def _act(self, body: dict[str, Any]) -> Answer:
        action = body.get("action")
        if action == "create":
            return self._create(body.get("user"))
        if action == "list":
            return self._list(body.get("cursor"), body.get("limit"))
        if action == "find":
            account = self.by_username(str(body.get("username")))
        elif action in {"extend", "suspend", "resume", "delete", "get"}:
            account = self.accounts.get(str(body.get("user_id")))
        else:
            return refusal(422, "invalid", f"unknown action {action!r}")
        if account is None:
            return refusal(404, "not_found", "no such user")
        if action == "delete":
            del self.accounts[account.id]
            return 200, {"ok": True}
        if action == "extend":
            if not isinstance(body.get("expires_at"), int):
                return refusal(422, "invalid", "expires_at is unix seconds")
            account.expires_at, account.enabled = body["expires_at"], True
            if body.get("reset_traffic") is True:
                account.used_bytes = 0
        elif action in {"suspend", "resume"}:
            account.enabled = action == "resume"
        return 200, {"ok": True, "user": self._wire(account)}

    def _create(self, user: Any) -> Answer:
        if not isinstance(user, dict) or not isinstance(user.get("username"), str):
            return refusal(422, "invalid", "user.username is required")
        if not isinstance(user.get("expires_at"), int):
            return refusal(422, "invalid", "user.expires_at is unix seconds")
        taken = self.by_username(user["username"])
        if taken is not None:
            if self.idempotent_create and taken.reference == user.get("reference"):
                return 200, {"ok": True, "user": self._wire(taken)}
            return refusal(409, "exists", "that username is taken")
        account = self.add(
            user["username"],
            expires_at=user["expires_at"],
            data_limit_bytes=user.get("data_limit_bytes"),
            reference=user.get("reference"),
        )
        return 200, {"ok": True, "user": self._wire(account)}

    def _list(self, cursor: Any, limit: Any) -> Answer:
        if not isinstance(limit, int) or limit < 1:
            return refusal(422, "invalid", "limit is a positive integer")
        ordered = sorted(self.accounts.values(), key=lambda a: int(a.id[2:]))
        after = int(cursor.removeprefix("after:")) if isinstance(cursor, str) else 0
        rest = [a for a in ordered if int(a.id[2:]) > after]
        page = rest[:limit]
        more = len(rest) > limit
        next_cursor = f"after:{page[-1].id[2:]}" if more else None
        return 200, {"ok": True, "users": [self._wire(a) for a in page], "next_cursor": next_cursor}

    def _wire(self, account: Account) -> dict[str, Any]:
        if not account.enabled:
            state = "disabled"
        elif account.expires_at is not None and account.expires_at <= self.clock():
            state = "expired"
        elif account.data_limit_bytes and account.used_bytes >= account.data_limit_bytes:
            state = "limited"
        else:
            state = "active"
        return {
            "id": account.id,
            "username": account.username,
            "state": state,
            "expires_at": account.expires_at,
            "used_bytes": account.used_bytes,
            "data_limit_bytes": account.data_limit_bytes,
            "reference": account.reference,
            "subscription_url": f"https://sub.example.test/{account.id}",
            "credentials": {"password": account.password},
        }

    @staticmethod
    def _send(answer: Answer) -> web.Response:
        status, body = answer
        if isinstance(body, dict | list):
            return web.json_response(body, status=status)
        return web.Response(status=status, text=str(body))


class WebhookHarness:
    """The contract suite's handle on the fake endpoint."""

    name = "webhook"
    tracks_traffic = True

    def __init__(self) -> None:
        self.fake = FakeWebhook(secret=f"whs-{secrets.token_hex(16)}")

    async def start(self) -> PanelAdapter:
        await self.fake.start()
        return WebhookAdapter(self.config())

    def config(self, secret: str | None = None, path: str = PATH) -> PanelConfig:
        return PanelConfig(
            base_url=f"{self.fake.url}{path}",
            credentials={"secret": secret or self.fake.secret},
            timeout_seconds=0.5,
            options={"page_size": 10},
        )

    async def stop(self) -> None:
        await self.fake.stop()

    def template(self) -> dict[str, Any]:
        return {"plan": "basic", "regions": ["eu"]}

    def stored(self, username: str) -> StoredUser | None:
        account = self.fake.by_username(username)
        if account is None:
            return None
        expires = account.expires_at
        return StoredUser(
            username=account.username,
            enabled=account.enabled,
            expires_at=None if expires is None else dt.datetime.fromtimestamp(expires, dt.UTC),
            data_limit_bytes=account.data_limit_bytes,
            used_bytes=account.used_bytes,
            note=account.reference,
        )

    def login_count(self) -> int:
        return 0  # every request is signed; there is no session

    def seed(self, user: NewUser, *, note: str | None) -> None:
        self.fake.add(
            user.username,
            expires_at=int(user.expires_at.timestamp()),
            data_limit_bytes=user.data_limit_bytes,
            reference=note,
        )

    def set_used(self, username: str, used_bytes: int) -> None:
        account = self.fake.by_username(username)
        assert account is not None, username
        account.used_bytes = used_bytes

    def expire_auth(self) -> None:
        """Nothing expires: the shared secret stays until the operator changes it."""

    def fail_next(self, status: int, times: int = 1) -> None:
        self.fake.fail_next(status, times)

    def garbage_next(self, times: int = 1) -> None:
        self.fake.garbage_next(times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self.fake.hang_next(seconds, times)
