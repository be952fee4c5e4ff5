"""A fake Remnawave 3.x panel (backend contract 3.4), and its harness for the contract suite.

It answers the user routes the way the real backend does: numeric user ids in paths,
answers wrapped in ``{"response": ...}``, 201 on create and 204 without a body on delete,
dates as ``2025-01-17T15:38:45.065Z``, traffic under ``userTraffic``, error bodies with an
``errorCode`` (``A019`` username taken, ``A025``/``A063`` not found, ``A029``/``A030``
already disabled/enabled), validation failures as ``{"statusCode", "message", "errors"}``,
and Nest's bare 401/403/404 bodies. Like the panel's proxy check, it closes the connection
without a byte when a request lacks ``X-Forwarded-For`` or ``X-Forwarded-Proto: https``.
The panel's expiry and traffic-limit jobs run before every request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
from typing import Any

from aiohttp import web

from bot.adapters.panels.base import NewUser, PanelConfig
from bot.adapters.panels.remnawave import RemnawaveAdapter
from tests.panels.harness import StoredUser
from tests.panels.remnawave_wire import (
    FakeUser,
    Invalid,
    Recorded,
    Refusal,
    check_create,
    check_update,
    coded,
    js_time,
    nest,
    now,
    positive_number,
    size_and_start,
)

TOKEN = "rw-api-token-for-tests"
SQUAD_UUID = "6f0d5e2a-6a8e-4c51-9d6b-1f2a3b4c5d6e"
TIMEOUT = 0.5
PAGE_SIZE = 10  # small, so listing crosses pages


class FakeRemnawave:
    def __init__(self) -> None:
        self.users: dict[int, FakeUser] = {}
        self.squads = {SQUAD_UUID: "Default-Squad"}
        self.tokens = {TOKEN: "valid"}
        self.requests: list[Recorded] = []
        self.url = ""
        self._ids = itertools.count(1)
        self._fail: list[int] = []
        self._garbage = 0
        self._hang: list[float] = []
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        app = web.Application(middlewares=[self._middleware])
        users = "/api/users"
        app.router.add_post(users, self._create)
        app.router.add_patch(users, self._update)
        app.router.add_get(users, self._list)
        app.router.add_get(users + "/by-username/{username}", self._by_username)
        app.router.add_get(users + "/{userId}", self._get)
        app.router.add_delete(users + "/{userId}", self._delete)
        app.router.add_post(users + "/{userId}/actions/{action}", self._act)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- scripting, for tests ---

    def fail_next(self, status: int, times: int = 1) -> None:
        self._fail.extend([status] * times)

    def garbage_next(self, times: int = 1) -> None:
        self._garbage += times

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self._hang.extend([seconds] * times)

    def expire_token(self) -> None:
        """The API token is past its ``expiresInDays``: its JWT no longer verifies (401)."""
        self.tokens[TOKEN] = "expired"

    def revoke_token(self) -> None:
        """The API token was deleted in the panel: the JWT verifies, the guard refuses (403)."""
        self.tokens[TOKEN] = "revoked"

    def add(self, username: str, expire_at: dt.datetime, **fields: Any) -> FakeUser:
        user = FakeUser(id=next(self._ids), username=username, status="ACTIVE",
                        expire_at=expire_at, **fields)  # fmt: skip
        self.users[user.id] = user
        self.run_jobs()
        return user

    def by_name(self, username: str) -> FakeUser | None:
        return next((u for u in self.users.values() if u.username == username), None)

    def run_jobs(self) -> None:
        """The panel's scheduled jobs, as if they had just run."""
        moment = now()
        for user in self.users.values():
            if user.status in ("ACTIVE", "LIMITED") and user.expire_at < moment:
                user.status = "EXPIRED"
            limit = user.traffic_limit_bytes
            if user.status == "ACTIVE" and limit != 0 and user.used >= limit:
                user.status = "LIMITED"

    # --- the server ---

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        self.requests.append(
            Recorded(request.method, request.path, dict(request.query), dict(request.headers), body)
        )
        forwarded_for = request.headers.get("X-Forwarded-For")
        if not forwarded_for or request.headers.get("X-Forwarded-Proto") != "https":
            # proxyCheckMiddleware: socket destroyed, not one byte written.
            if request.transport is not None:
                request.transport.abort()
            return web.Response()
        if self._fail:
            return self._scripted(self._fail.pop(0), request.path)
        if self._garbage:
            self._garbage -= 1
            return web.Response(text="<html><body>502 Bad Gateway</body></html>",
                                content_type="text/html")  # fmt: skip
        hang = self._hang.pop(0) if self._hang else 0.0
        if request.match_info.http_exception is not None:
            return nest(404, f"Cannot {request.method} {request.path}", "Not Found")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        state = self.tokens.get(token)
        if state in (None, "expired"):
            return nest(401, "Unauthorized")
        if state == "revoked":
            return nest(403, "Forbidden resource", "Forbidden")
        self.run_jobs()
        try:
            response = await handler(request)
        except Refusal as refusal:
            response = refusal.response
        except Invalid as invalid:
            response = web.json_response(invalid.body(), status=400)
        if hang:
            # The work is done; only the answer comes too late, so the caller cannot know.
            await asyncio.sleep(hang)
        return response

    def _scripted(self, status: int, path: str) -> web.Response:
        """The body the panel sends with ``status``."""
        if status == 401:
            return nest(401, "Unauthorized")
        if status == 403:
            return nest(403, "Forbidden resource", "Forbidden")
        if status == 400:
            return web.json_response(Invalid("", "Invalid input").body(), status=400)
        if status == 404:
            return coded("A025", path).response
        body = {"timestamp": js_time(now()), "path": path, "message": "Server error",
                "errorCode": "A001"}  # fmt: skip
        return web.json_response(body, status=status)

    def _answer(self, user: FakeUser, status: int = 200) -> web.Response:
        return web.json_response({"response": user.wire(self.squads)}, status=status)

    def _find(self, request: web.Request, *, code: str = "A025") -> FakeUser:
        user_id = positive_number(request.match_info["userId"], "userId")
        user = self.users.get(int(user_id)) if user_id == int(user_id) else None
        if user is None:
            raise coded(code, request.path)
        return user

    async def _create(self, request: web.Request) -> web.Response:
        data = check_create(await request.json())
        if self.by_name(data["username"]) is not None:
            raise coded("A019", request.path)
        squads = data.get("activeInternalSquads", [])
        if any(s not in self.squads for s in squads):
            raise coded("A018", request.path)  # a foreign key fails inside the create
        user = self.add(
            data["username"],
            data["expireAt"],
            traffic_limit_bytes=int(data.get("trafficLimitBytes", 0)),
            traffic_limit_strategy=data.get("trafficLimitStrategy", "NO_RESET"),
            description=data.get("description"),
            squads=list(squads),
            hwid_device_limit=data.get("hwidDeviceLimit"),
            external_squad_uuid=data.get("externalSquadUuid"),
        )
        if data.get("status"):
            user.status = data["status"]
        return self._answer(user, 201)

    async def _update(self, request: web.Request) -> web.Response:
        data = check_update(await request.json(), now())
        user = self.users.get(data["id"]) if "id" in data else None
        if "id" not in data:
            user = self.by_name(data["username"])
        elif "username" in data and user is not None and user.username != data["username"]:
            user = None
        if user is None:
            raise coded("A025", request.path)
        # UsersService.updateUser's status rules.
        status, old = data.get("status"), user.status
        if old != "ACTIVE" and status == "ACTIVE":
            user.status = "ACTIVE"
        if old == "ACTIVE" and status == "DISABLED":
            user.status = "DISABLED"
        if "trafficLimitBytes" in data:
            limit = int(data["trafficLimitBytes"])
            if old == "LIMITED" and (limit > user.traffic_limit_bytes or limit == 0):
                user.status = "ACTIVE"
            user.traffic_limit_bytes = limit
        expire_at = data.get("expireAt")
        if old == "EXPIRED" and expire_at and not status and expire_at != user.expire_at:
            user.status = "ACTIVE"
        if expire_at:
            user.expire_at = expire_at
        if "description" in data:
            user.description = data["description"]
        if "activeInternalSquads" in data:
            user.squads = list(data["activeInternalSquads"])
        user.updated_at = now()
        return self._answer(user)

    async def _list(self, request: web.Request) -> web.Response:
        start, size, descending = size_and_start(request.query)
        users = sorted(self.users.values(), key=lambda u: u.id, reverse=descending)
        page = [u.wire(self.squads) for u in users[start : start + size]]
        return web.json_response({"response": {"users": page, "total": len(users)}})

    async def _by_username(self, request: web.Request) -> web.Response:
        user = self.by_name(request.match_info["username"])
        if user is None:
            raise coded("A063", request.path)
        return self._answer(user)

    async def _get(self, request: web.Request) -> web.Response:
        return self._answer(self._find(request, code="A063"))

    async def _delete(self, request: web.Request) -> web.Response:
        del self.users[self._find(request).id]
        return web.Response(status=204)

    async def _act(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ("enable", "disable", "reset-traffic", "extend"):
            return nest(404, f"Cannot POST {request.path}", "Not Found")
        user = self._find(request)
        if action == "enable":
            if user.status == "ACTIVE":
                raise coded("A030", request.path)
            user.status = "ACTIVE"
        elif action == "disable":
            if user.status == "DISABLED":
                raise coded("A029", request.path)
            user.status = "DISABLED"
        elif action == "reset-traffic":
            user.used = 0
            user.last_traffic_reset_at = now()
            if user.status == "LIMITED":
                user.status = "ACTIVE"
        else:
            body = await request.json()
            days = positive_number(body.get("days") if isinstance(body, dict) else None, "days")
            user.expire_at = max(user.expire_at, now()) + dt.timedelta(days=days)
            if user.status == "EXPIRED":
                user.status = "ACTIVE"
        user.updated_at = now()
        return self._answer(user)


class RemnawaveHarness:
    """``PanelHarness`` for the fake above. The API token is static: ``login_count`` is 0
    and ``expire_auth`` changes nothing (a Remnawave token lasts its ``expiresInDays``);
    ``panel.expire_token()``/``panel.revoke_token()`` make it fail for tests that want it."""

    name = "remnawave"

    def __init__(self) -> None:
        self.panel = FakeRemnawave()
        self.adapter: RemnawaveAdapter | None = None

    async def start(self) -> RemnawaveAdapter:
        url = await self.panel.start()
        config = PanelConfig(
            base_url=url,
            credentials={"token": TOKEN},
            timeout_seconds=TIMEOUT,
            options={"page_size": PAGE_SIZE},
        )
        self.adapter = RemnawaveAdapter(config)
        return self.adapter

    async def stop(self) -> None:
        if self.adapter is not None:
            await self.adapter.aclose()
        await self.panel.stop()

    def template(self) -> dict[str, Any]:
        return {"squads": [SQUAD_UUID]}

    def stored(self, username: str) -> StoredUser | None:
        self.panel.run_jobs()
        user = self.panel.by_name(username)
        if user is None:
            return None
        return StoredUser(
            username=user.username,
            enabled=user.status != "DISABLED",
            expires_at=user.expire_at,
            data_limit_bytes=user.traffic_limit_bytes or None,
            used_bytes=user.used,
            note=user.description,
        )

    def login_count(self) -> int:
        return 0

    def seed(self, user: NewUser, *, note: str | None) -> None:
        squads = [s for s in user.template.get("squads", []) if s in self.panel.squads]
        self.panel.add(user.username, user.expires_at, description=note, squads=squads,
                       traffic_limit_bytes=user.data_limit_bytes or 0)  # fmt: skip

    def set_used(self, username: str, used_bytes: int) -> None:
        user = self.panel.by_name(username)
        if user is None:
            raise KeyError(username)
        user.lifetime_used += max(0, used_bytes - user.used)
        user.used = used_bytes
        self.panel.run_jobs()

    def expire_auth(self) -> None:
        """A static API token does not lapse within a session: nothing to do."""

    def fail_next(self, status: int, times: int = 1) -> None:
        self.panel.fail_next(status, times)

    def garbage_next(self, times: int = 1) -> None:
        self.panel.garbage_next(times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self.panel.hang_next(seconds, times)
