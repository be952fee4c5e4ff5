"""A fake Marzban (0.8) or PasarGuard (5.x) admin API, for the adapter's tests.

It answers as the panels' FastAPI routes do: ``POST /api/admin/token`` takes an OAuth2
password form and returns a JWT-shaped bearer token; ``/api/user`` and
``/api/user/{username}`` (GET, PUT, DELETE, ``POST .../reset``) and ``GET /api/users``
(offset, limit, sort) keep users; errors are ``{"detail": ...}``, and a 422 is
``{"detail": {field: message}}`` (both panels install that handler). The flavours differ
as the panels do: Marzban takes ``proxies``/``inbounds``, answers ``expire`` in unix
seconds and naive UTC datetimes, creates with 200, deletes with 200 and a body, and
matches usernames case-insensitively; PasarGuard takes ``group_ids`` (unknown ones: 404
"Group not found"), answers aware ISO datetimes, creates with 201, deletes with 204,
accepts ``X-Api-Key`` keys and lists users without their subscription link unless
``load_sub`` is set. Both answer a relative ``subscription_url`` when no URL prefix is
configured, and each keeps its own quirk in resetting usage (see ``_reset``).
"""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import itertools
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.adapters.panels.base import NewUser, PanelAdapter, PanelConfig
from bot.adapters.panels.marzban import MarzbanAdapter, PasarGuardAdapter
from tests.panels.fake_marzban_users import FakeUser, UserRules, rules_for
from tests.panels.harness import StoredUser

Handler = Any  # aiohttp's handler type; the middleware only awaits it

ADMIN = "admin"
PASSWORD = "fake-admin-password-7f3a"


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def _detail(status: int, detail: Any, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"detail": detail}, status=status, headers=headers)


def _unauthorised(detail: str = "Could not validate credentials") -> web.Response:
    return _detail(401, detail, {"WWW-Authenticate": "Bearer"})


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it, for wire-shape assertions."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeMarzban:
    flavour: str = "marzban"
    token_lifetime: dt.timedelta = dt.timedelta(days=1)
    sub_prefix: str = ""  # empty, as by default: the panel answers a path
    api_key: str = field(default_factory=lambda: f"pg_key_{uuid.uuid4()}")
    users: dict[str, FakeUser] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    logins: int = 0
    url: str = ""

    def __post_init__(self) -> None:
        self.rules: UserRules = rules_for(self.flavour)
        self._tokens: dict[str, float] = {}
        self._script: collections.deque[tuple[str, float]] = collections.deque()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        # For tests that act at an exact moment: a request arrived; a user was stored.
        self.arrived = asyncio.Event()
        self.user_stored = asyncio.Event()

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._disturb, self._authenticate])
        app.router.add_post("/api/admin/token", self._token)
        app.router.add_post("/api/user", self._create)
        app.router.add_get("/api/user/{username}", self._get)
        app.router.add_put("/api/user/{username}", self._modify)
        app.router.add_delete("/api/user/{username}", self._delete)
        app.router.add_post("/api/user/{username}/reset", self._reset)
        app.router.add_get("/api/users", self._list)
        # A short shutdown: requests left hanging by a test are cancelled, not awaited.
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    # --- what a test changes ------------------------------------------------------------

    def key(self, username: str) -> str:
        return username.lower() if self.rules.case_insensitive else username

    def user(self, username: str) -> FakeUser | None:
        return self.users.get(self.key(username))

    def add(self, user: FakeUser) -> FakeUser:
        user.id = next(self._ids)
        self.users[self.key(user.username)] = user
        return user

    def revoke_tokens(self) -> None:
        self._tokens.clear()

    def fail_next(self, status: int, times: int = 1) -> None:
        self._script.extend([("fail", float(status))] * times)

    def answer_next(self, times: int = 1) -> None:
        """Let the next requests through, so disturbances can be put in sequence."""
        self._script.extend([("answer", 0.0)] * times)

    def garbage_next(self, times: int = 1) -> None:
        self._script.extend([("garbage", 0.0)] * times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self._script.extend([("hang", seconds)] * times)

    def calls(self, method: str, path_prefix: str = "/api/") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # --- middlewares --------------------------------------------------------------------

    @web.middleware
    async def _disturb(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                list(request.query.items()),
                dict(request.headers),
                body,
            )
        )
        self.arrived.set()
        if not self._script:
            return await handler(request)  # type: ignore[no-any-return]
        kind, value = self._script.popleft()
        if kind == "answer":
            return await handler(request)  # type: ignore[no-any-return]
        if kind == "fail":
            return self._error_page(int(value))
        if kind == "garbage":
            return web.Response(
                text="<html><body>Bad Gateway</body></html>", content_type="text/html"
            )
        # The panel acts, then its answer is lost: the worst case for the caller.
        response = await handler(request)
        await asyncio.sleep(value)
        return response  # type: ignore[no-any-return]

    def _error_page(self, status: int) -> web.Response:
        if status == 500:  # Starlette's own page for an unhandled exception
            return web.Response(status=500, text="Internal Server Error")
        if status == 503 and self.flavour == "pasarguard":
            return _detail(503, "Database temporarily unavailable")
        if status >= 500:  # what the reverse proxy in front answers
            return web.Response(status=status, text="<html>nginx</html>", content_type="text/html")
        if status == 401:
            return _unauthorised()
        if status == 422:
            return _detail(422, {"username": "Field required"})
        texts = {403: "You're not allowed", 404: "User not found", 409: "User already exists"}
        return _detail(status, texts.get(status, "Bad request"))

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path == "/api/admin/token":
            return await handler(request)  # type: ignore[no-any-return]
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if self.flavour == "pasarguard":
            key = request.headers.get("X-Api-Key") or (token if scheme.lower() == "apikey" else "")
            if key and key.strip() == self.api_key:
                return await handler(request)  # type: ignore[no-any-return]
        elif scheme.lower() != "bearer" or not token:
            # Marzban's OAuth2PasswordBearer refuses a missing token before any check.
            return _unauthorised("Not authenticated")
        expiry = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or expiry < dt.datetime.now(dt.UTC).timestamp():
            return _unauthorised()
        return await handler(request)  # type: ignore[no-any-return]

    # --- routes -------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        if request.content_type != "application/x-www-form-urlencoded":
            return _detail(422, {"username": "Field required", "password": "Field required"})
        form = await request.post()
        username, password = form.get("username"), form.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return _detail(422, {"username": "Field required", "password": "Field required"})
        if form.get("grant_type") not in (None, "password"):
            return _detail(422, {"grant_type": "String should match pattern '^password$'"})
        if (username, password) != (ADMIN, PASSWORD):
            return _unauthorised("Incorrect username or password")
        now = dt.datetime.now(dt.UTC)
        exp = (now + self.token_lifetime).timestamp()
        claims = {"sub": username, "access": "sudo", "iat": int(now.timestamp()), "exp": int(exp)}
        token = ".".join(
            (_b64({"alg": "HS256", "typ": "JWT"}), _b64(claims), secrets.token_urlsafe(32))
        )
        self._tokens[token] = exp
        self.logins += 1
        return web.json_response({"access_token": token, "token_type": "bearer"})

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = json.loads(await request.read())
        except ValueError:
            return _detail(422, {"body": "JSON decode error"})
        if not isinstance(body, dict):
            return _detail(422, {"body": "Input should be a valid dictionary"})
        return body

    def _render(self, user: FakeUser, *, with_link: bool = True) -> dict[str, Any]:
        link = f"{self.sub_prefix}/sub/{user.sub_token}" if with_link else ""
        return self.rules.render(user, subscription_url=link)

    async def _create(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        made = self.rules.create(body)
        if isinstance(made, tuple):
            return _detail(*made)
        if self.user(made.username) is not None:
            return _detail(409, "User already exists")
        self.add(made)
        self.user_stored.set()
        return web.json_response(self._render(made), status=self.rules.create_status)

    def _found(self, request: web.Request) -> FakeUser | web.Response:
        user = self.user(request.match_info["username"])
        return user if user is not None else _detail(404, "User not found")

    async def _get(self, request: web.Request) -> web.Response:
        user = self._found(request)
        if isinstance(user, web.Response):
            return user
        return web.json_response(self._render(user))

    async def _modify(self, request: web.Request) -> web.Response:
        user = self._found(request)
        if isinstance(user, web.Response):
            return user
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        refused = self.rules.modify(user, body)
        if refused is not None:
            return _detail(*refused)
        return web.json_response(self._render(user))

    async def _delete(self, request: web.Request) -> web.Response:
        user = self._found(request)
        if isinstance(user, web.Response):
            return user
        del self.users[self.key(user.username)]
        if self.flavour == "pasarguard":
            return web.Response(status=204)
        return web.json_response({"detail": "User successfully deleted"})

    async def _reset(self, request: web.Request) -> web.Response:
        user = self._found(request)
        if isinstance(user, web.Response):
            return user
        self.rules.reset(user)
        return web.json_response(self._render(user))

    async def _list(self, request: web.Request) -> web.Response:
        try:
            offset = int(request.query.get("offset") or 0)
            limit = int(request.query.get("limit") or 0)
        except ValueError:
            return _detail(422, {"offset": "Input should be a valid integer"})
        users = list(self.users.values())
        wanted = request.query.getall("username", [])
        if wanted:
            users = [u for u in users if u.username in wanted]
        for option in reversed([o for o in request.query.get("sort", "").split(",") if o]):
            name = option.lstrip("-")
            if name not in {"username", "used_traffic", "data_limit", "expire", "created_at"}:
                return _detail(400, f'"{option}" is not a valid sort option')
            users.sort(key=lambda u: u.sort_key(name), reverse=option.startswith("-"))
        page = users[offset : offset + limit] if limit else users[offset:]
        # PasarGuard leaves the link out of lists unless asked (load_sub).
        with_link = self.flavour == "marzban" or request.query.get("load_sub") == "true"
        rendered = [self._render(u, with_link=with_link) for u in page]
        return web.json_response({"users": rendered, "total": len(users)})


# --- the contract suite's harness -----------------------------------------------------

TEMPLATES: dict[str, dict[str, Any]] = {
    "marzban": {"proxies": {"vless": {}}, "inbounds": {"vless": ["VLESS TCP REALITY"]}},
    "pasarguard": {"group_ids": [1]},
}


class MarzbanHarness:
    """The fake panel and an adapter pointed at it. PasarGuard logs in with an API key
    here (the password login it shares with Marzban is covered by test_marzban.py)."""

    def __init__(self, flavour: str = "marzban", *, api_key: bool | None = None) -> None:
        self.name = flavour
        self.fake = FakeMarzban(flavour)
        self.use_api_key = flavour == "pasarguard" if api_key is None else api_key

    def config(self, **options: Any) -> PanelConfig:
        credentials = (
            {"api_key": self.fake.api_key}
            if self.use_api_key
            else {"username": ADMIN, "password": PASSWORD}
        )
        return PanelConfig(
            base_url=self.fake.url,
            credentials=credentials,
            timeout_seconds=0.3,
            options={"page_size": 10, **options},
        )

    async def start(self) -> PanelAdapter:
        await self.fake.start()
        adapter_class = PasarGuardAdapter if self.name == "pasarguard" else MarzbanAdapter
        return adapter_class(self.config())

    async def stop(self) -> None:
        await self.fake.stop()

    def template(self) -> dict[str, Any]:
        return json.loads(json.dumps(TEMPLATES[self.name]))  # a deep copy

    def stored(self, username: str) -> StoredUser | None:
        user = self.fake.user(username)
        if user is None:
            return None
        return StoredUser(
            username=user.username,
            enabled=user.status != "disabled",
            expires_at=user.expire,
            data_limit_bytes=user.data_limit,
            used_bytes=user.used_traffic,
            note=user.note,
        )

    def login_count(self) -> int:
        return self.fake.logins

    def seed(self, user: NewUser, *, note: str | None) -> None:
        made = self.fake.rules.create(
            {
                "username": user.username,
                "expire": int(user.expires_at.timestamp()),
                "data_limit": user.data_limit_bytes or 0,
                "note": note,
                **user.template,
            }
        )
        assert isinstance(made, FakeUser), made
        made.review()
        self.fake.add(made)

    def set_used(self, username: str, used_bytes: int) -> None:
        user = self.fake.user(username)
        assert user is not None, username
        user.used_traffic = used_bytes
        user.review()

    def expire_auth(self) -> None:
        self.fake.revoke_tokens()

    def fail_next(self, status: int, times: int = 1) -> None:
        self.fake.fail_next(status, times)

    def garbage_next(self, times: int = 1) -> None:
        self.fake.garbage_next(times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self.fake.hang_next(seconds, times)
