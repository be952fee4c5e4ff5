"""A fake 3x-ui panel (v3 API) on a loopback port, and its contract-suite harness.

It answers as the panel's handlers do: clients under ``/panel/api/clients`` keyed by
email; ``expiryTime`` in epoch ms, ``totalGB`` in bytes; refusals as HTTP 200 with
``{"success": false, "msg": "<translated prefix> (<error>)"}``; an unauthenticated API
call as an empty 404 (401 for XMLHttpRequest); a cookie call without the session's CSRF
token as an empty 403; ``update`` replacing the client (credentials and subId kept when
left out) and refusing fields of the wrong JSON type as Go's decoder does. Auth is an
API token (``Authorization: Bearer``) or the ``3x-ui`` session cookie from ``/login``;
``csrf=False`` serves an older panel that has no ``/csrf-token``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.panels.xui_wire import RECORD_ZERO, Refused, decode_client, now, to_ms, to_record

COOKIE = "3x-ui"
API = "/panel/api/clients"
WRONG_LOGIN = "Invalid username or password or two-factor code."
INBOUNDS = {1: "vless", 2: "trojan"}
_PAGE_CAP = 200


@dataclass
class Client:
    row_id: int
    record: dict[str, Any]
    inbound_ids: list[int]
    up: int = 0
    down: int = 0

    @property
    def email(self) -> str:
        return str(self.record["email"])


@dataclass
class Seen:
    method: str
    path: str  # without the base path
    headers: dict[str, str]
    body: Any
    query: dict[str, str] = field(default_factory=dict)


@dataclass
class _Session:
    csrf: str
    user: bool = False


@dataclass
class FakeXui:
    username: str = "admin"
    password: str = "s3cret-pass"
    token: str = "tok-" + "x" * 28
    monitor_token: str = "mon-" + "y" * 28  # a token scoped to status routes only
    base_path: str = "/xui"
    csrf: bool = True
    clients: dict[str, Client] = field(default_factory=dict)
    online: set[str] = field(default_factory=set)
    seen: list[Seen] = field(default_factory=list)
    logins: int = 0
    refuse_sessions: bool = False  # every API call 404s, even right after a login
    url: str = ""

    def __post_init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._next_id = 1
        self._fail: list[int] = []
        self._garbage = 0
        self._hang: list[float] = []
        self._runner: web.AppRunner | None = None

    # --- running ----------------------------------------------------------------------

    async def start(self) -> str:
        app = web.Application(middlewares=[self._disturb, self._auth])
        b, r = self.base_path, app.router
        r.add_get(f"{b}/csrf-token", self._csrf_token)
        r.add_post(f"{b}/login", self._login)
        r.add_get(f"{b}{API}/list/paged", self._list_paged)
        r.add_get(f"{b}{API}/get/{{email}}", self._get)
        r.add_post(f"{b}{API}/add", self._add)
        r.add_post(f"{b}{API}/update/{{email}}", self._update)
        r.add_post(f"{b}{API}/del/{{email}}", self._delete)
        r.add_post(f"{b}{API}/bulkEnable", self._bulk_enable)
        r.add_post(f"{b}{API}/bulkDisable", self._bulk_disable)
        r.add_post(f"{b}{API}/resetTraffic/{{email}}", self._reset_traffic)
        r.add_post(f"{b}{API}/onlines", self._onlines)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}{self.base_path}"
        return self.url

    async def stop(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    # --- disturbing -------------------------------------------------------------------

    def fail_next(self, status: int, times: int = 1) -> None:
        self._fail.extend([status] * times)

    def garbage_next(self, times: int = 1) -> None:
        self._garbage += times

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self._hang.extend([seconds] * times)

    def expire_sessions(self) -> None:
        self._sessions.clear()

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]

    # --- state ------------------------------------------------------------------------

    def put(self, record: dict[str, Any], inbound_ids: list[int]) -> Client:
        rec = {**RECORD_ZERO, **record}
        now = to_ms(dt.datetime.now(dt.UTC))
        rec.setdefault("createdAt", now)
        rec["updatedAt"] = now
        client = Client(self._next_id, rec, inbound_ids)
        self._next_id += 1
        self.clients[client.email] = client
        return client

    def _payload(self, c: Client) -> dict[str, Any]:
        return {"id": c.row_id, **c.record}

    def _traffic(self, c: Client) -> dict[str, Any]:
        r = c.record
        return {
            "id": c.row_id, "inboundId": c.inbound_ids[0] if c.inbound_ids else 0,
            "enable": r["enable"], "email": c.email, "uuid": r["uuid"], "subId": r["subId"],
            "up": c.up, "down": c.down, "expiryTime": r["expiryTime"], "total": r["totalGB"],
            "reset": r["reset"], "resetDay": r["resetDay"], "resetMax": r["resetMax"],
            "resetCount": 0, "lastOnline": 0, "lastSubFetch": 0,
        }  # fmt: skip

    # --- middlewares ------------------------------------------------------------------

    @web.middleware
    async def _disturb(self, request: web.Request, handler: Any) -> web.StreamResponse:
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        path = request.path.removeprefix(self.base_path)
        seen = Seen(request.method, path, dict(request.headers), body, dict(request.query))
        self.seen.append(seen)
        if self._hang:
            await asyncio.sleep(self._hang.pop(0))
        if self._fail:
            status = self._fail.pop(0)
            if status >= 500 or status in (401, 403, 404):
                return web.Response(status=status)  # gin's recovery and auth aborts: no body
            return web.json_response({"success": False, "msg": "fail"}, status=status)
        if self._garbage:
            self._garbage -= 1
            return web.Response(text="<html><body>3x-ui</body></html>", content_type="text/html")
        return await handler(request)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith(f"{self.base_path}/panel/api/"):
            return await handler(request)
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer and bearer == self.token and not self.refuse_sessions:
            return await handler(request)  # token callers skip the CSRF check
        if bearer and bearer == self.monitor_token:
            msg = "this API token is not permitted to access this endpoint"
            return web.json_response({"success": False, "msg": msg}, status=403)
        session = self._session(request)
        if session is None or not session.user or self.refuse_sessions:
            xhr = request.headers.get("X-Requested-With") == "XMLHttpRequest"
            return web.Response(status=401 if xhr else 404)
        if self.csrf and request.method == "POST" and not self._csrf_ok(request, session):
            return web.Response(status=403)
        return await handler(request)

    def _session(self, request: web.Request) -> _Session | None:
        return self._sessions.get(request.cookies.get(COOKIE, ""))

    def _csrf_ok(self, request: web.Request, session: _Session) -> bool:
        return request.headers.get("X-CSRF-Token", "") == session.csrf

    def _set_session(self, response: web.Response, session: _Session) -> None:
        sid = secrets.token_urlsafe(16)
        self._sessions[sid] = session
        response.set_cookie(COOKIE, sid, path=self.base_path + "/", httponly=True, samesite="Lax")

    # --- login ------------------------------------------------------------------------

    async def _csrf_token(self, request: web.Request) -> web.StreamResponse:
        if not self.csrf:
            return web.Response(status=404)  # an older panel: no such route
        session = self._session(request)
        fresh = session is None
        session = session or _Session(secrets.token_urlsafe(32))
        response = web.json_response({"success": True, "obj": session.csrf})
        if fresh:
            self._set_session(response, session)
        return response

    async def _login(self, request: web.Request) -> web.StreamResponse:
        session = self._session(request)
        if self.csrf and (session is None or not self._csrf_ok(request, session)):
            return web.Response(status=403)
        if request.content_type == "application/json":
            form = await request.json()
        else:
            form = dict(await request.post())
        if form.get("username") != self.username or form.get("password") != self.password:
            return web.json_response({"success": False, "msg": WRONG_LOGIN, "obj": None})
        self.logins += 1
        response = web.json_response(
            {"success": True, "msg": "You have successfully logged into your account.", "obj": None}
        )
        # The panel's cookie store writes a new cookie when the session changes.
        self._set_session(response, _Session(session.csrf if session else "", user=True))
        return response

    # --- clients ----------------------------------------------------------------------

    @staticmethod
    def _ok(obj: Any = None, msg: str = "") -> web.Response:
        return web.json_response({"success": True, "msg": msg, "obj": obj})

    @staticmethod
    def _refuse(prefix: str, error: str) -> web.Response:
        return web.json_response({"success": False, "msg": f"{prefix} ({error})", "obj": None})

    def _find(self, email: str) -> Client:
        if email not in self.clients:
            raise Refused("record not found")
        return self.clients[email]

    async def _list_paged(self, request: web.Request) -> web.StreamResponse:
        page = max(int(request.query.get("page") or 1), 1)
        size = int(request.query.get("pageSize") or 25)
        size = min(size if size > 0 else 25, _PAGE_CAP)
        rows = sorted(self.clients.values(), key=lambda c: c.row_id)
        items = []
        for c in rows[(page - 1) * size : page * size]:
            r = c.record
            item = {k: r[k] for k in ("email", "subId", "enable", "totalGB", "expiryTime")}
            item |= {k: r[k] for k in ("limitIp", "limitHwid", "reset", "resetDay", "resetMax")}
            if r["comment"]:  # omitempty in the slim row
                item["comment"] = r["comment"]
            item |= {"inboundIds": c.inbound_ids, "traffic": self._traffic(c)}
            item |= {"createdAt": r["createdAt"], "updatedAt": r["updatedAt"]}
            items.append(item)
        obj = {"items": items, "total": len(rows), "filtered": len(rows), "page": page}
        return self._ok(obj | {"pageSize": size, "summary": {"total": len(rows)}, "groups": []})

    async def _get(self, request: web.Request) -> web.StreamResponse:
        try:
            c = self._find(request.match_info["email"])
        except Refused as exc:
            return self._refuse("Obtain", str(exc))
        obj = {"client": self._payload(c), "inboundIds": c.inbound_ids or None}
        return self._ok(obj | {"externalLinks": [], "usedTraffic": c.up + c.down})

    async def _add(self, request: web.Request) -> web.StreamResponse:
        try:
            payload = await request.json()
            client = decode_client(payload.get("client") or {})
            inbound_ids = payload.get("inboundIds") or []
            self._create(client, inbound_ids)
        except Refused as exc:
            return self._refuse("Something went wrong", str(exc))
        return self._ok(msg="Inbound client(s) have been added.")

    def _create(self, client: dict[str, Any], inbound_ids: list[int]) -> None:
        email = str(client.get("email", "")).strip()
        if not email:
            raise Refused("client email is required\n")
        if any(ch in email for ch in "/\\") or any(ch.isspace() for ch in email):
            raise Refused(f"client email contains an invalid character: {email}\n")
        if not inbound_ids:
            raise Refused("at least one inbound is required\n")
        sub_id = client.get("subId") or str(uuid.uuid4())
        existing = self.clients.get(email)
        if existing is not None and existing.record["subId"] != sub_id:
            raise Refused(f"email already in use: {email}\n")
        if any(c.record["subId"] == sub_id and c.email != email for c in self.clients.values()):
            raise Refused(f"subId already in use: {sub_id}\n")
        if any(i not in INBOUNDS for i in inbound_ids):
            raise Refused("record not found")
        if existing is not None:  # the same identity re-added: attach it where it is missing
            existing.inbound_ids += [i for i in inbound_ids if i not in existing.inbound_ids]
            return
        record = to_record(client) | {"subId": sub_id, "enable": True}
        protocols = {INBOUNDS[i] for i in inbound_ids}
        if "vless" in protocols and not record["uuid"]:
            record["uuid"] = str(uuid.uuid4())
        if "trojan" in protocols and not record["password"]:
            record["password"] = uuid.uuid4().hex
        self.put(record, list(inbound_ids))

    async def _update(self, request: web.Request) -> web.StreamResponse:
        try:
            c = self._find(request.match_info["email"])
            updated = to_record(decode_client(await request.json()))
            if not updated["email"].strip():
                raise Refused("client email is required\n")
            if updated["email"] != c.email and updated["email"] in self.clients:
                raise Refused(f"Duplicate email: {updated['email']}\n")
        except Refused as exc:
            return self._refuse("Something went wrong", str(exc))
        old = c.record
        for key in ("uuid", "password", "auth", "secret", "subId"):  # kept when left out
            updated[key] = updated[key] or old[key]
        # Everything else is replaced: what the body leaves out takes its zero value.
        c.record = updated | {"createdAt": old["createdAt"], "updatedAt": to_ms(now())}
        del self.clients[old["email"]]
        self.clients[c.email] = c
        return self._ok(msg="Inbound client has been updated.")

    async def _delete(self, request: web.Request) -> web.StreamResponse:
        email = request.match_info["email"]
        if email not in self.clients:
            error = f'client "{email}" not found in any inbound or client record'
            return self._refuse("Something went wrong", error)
        del self.clients[email]
        return self._ok(msg="Inbound client has been deleted.")

    async def _bulk_enable(self, request: web.Request) -> web.StreamResponse:
        return await self._bulk_set(request, enable=True)

    async def _bulk_disable(self, request: web.Request) -> web.StreamResponse:
        return await self._bulk_set(request, enable=False)

    async def _bulk_set(self, request: web.Request, *, enable: bool) -> web.StreamResponse:
        emails = (await request.json()).get("emails") or []
        changed, skipped = 0, []
        for email in dict.fromkeys(e.strip() for e in emails if e.strip()):
            if email not in self.clients:
                skipped.append({"email": email, "reason": "client not found"})
                continue
            self.clients[email].record["enable"] = enable
            changed += 1
        return self._ok({"changed": changed} | ({"skipped": skipped} if skipped else {}))

    async def _reset_traffic(self, request: web.Request) -> web.StreamResponse:
        try:
            c = self._find(request.match_info["email"])
        except Refused as exc:
            return self._refuse("Something went wrong", str(exc))
        c.record["enable"] = True  # the panel re-enables a client whose traffic it resets
        c.up = c.down = 0
        return self._ok(msg="Traffic has been reset.")

    async def _onlines(self, request: web.Request) -> web.StreamResponse:
        return self._ok(sorted(self.online) or None)  # a nil Go slice: null
