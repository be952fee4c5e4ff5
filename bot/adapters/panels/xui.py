"""The 3x-ui panel (v3 API): clients under ``/panel/api/clients``, keyed by email.

From the panel's OpenAPI file (``frontend/public/openapi.json``) and its handlers
(``internal/web/controller/client.go``, ``internal/web/service/client_*.go``):

- A refusal is HTTP 200 with ``success`` false and ``msg`` "<translated prefix>
  (<error>)", the error in English: ``record not found``, ``email already in use: x``.
- ``expiryTime`` is epoch milliseconds (0: never, negative: a duration that starts at
  the first connection); ``totalGB`` is bytes (0: unlimited); used traffic is up + down.
- ``update`` replaces the client: what the body leaves out is reset, except its
  credentials and subId, so an update sends back everything ``get`` returned. It sets
  an absolute expiry, where ``bulkAdjust`` adds whole days to the stored one (and skips
  unlimited clients), so extending uses ``update``.

The client's email is its name and the key of every route, so it is the external id.
The order's reference goes in the client's ``comment``. Auth and transport: ``xui_api``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from bot.adapters.panels.base import (
    NewUser,
    PanelConfig,
    PanelRejected,
    PanelUnavailable,
    PanelUser,
    UserExists,
    UserNotFound,
    UserState,
)
from bot.adapters.panels.xui_api import Reply, XuiApi, garbage

CLIENTS = "/panel/api/clients"
PAGE_SIZE = 200  # the panel's cap for /list/paged; options["page_size"] may lower it

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EMAIL_TAKEN = re.compile(r"email already in use|duplicate email", re.IGNORECASE)
# Keys of the stored record that the update body (the panel's Client) spells otherwise.
_RECORD_ONLY = frozenset({"id", "uuid", "createdAt", "updatedAt"})


def to_ms(when: dt.datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return (when - _EPOCH) // dt.timedelta(milliseconds=1)


def from_ms(ms: int) -> dt.datetime | None:
    return _EPOCH + dt.timedelta(milliseconds=ms) if ms > 0 else None


def _not_found(msg: str) -> bool:
    # The English error follows a translated prefix: "Obtain (record not found)".
    return "not found" in msg.lower()


class XuiAdapter:
    name = "3x-ui"

    def __init__(self, config: PanelConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self._config = config
        self._api = XuiApi(config, client=client)
        sub_base = config.options.get("subscription_base_url")
        self._sub_base = str(sub_base).rstrip("/") if sub_base else None
        self._page_size = min(int(config.options.get("page_size", PAGE_SIZE)), PAGE_SIZE)

    # --- the adapter interface --------------------------------------------------------

    async def create(self, user: NewUser) -> PanelUser:
        template = user.template
        inbound_ids = template.get("inbound_ids")
        if not inbound_ids or not all(type(i) is int for i in inbound_ids):
            raise PanelRejected("the plan's 3x-ui template needs inbound_ids (a list of ints)")
        client = {
            "email": user.username,
            "enable": True,
            "expiryTime": to_ms(user.expires_at),
            "totalGB": user.data_limit_bytes or 0,
            "limitIp": int(template.get("limit_ip", 0)),
            "limitHwid": int(template.get("limit_hwid", 0)),
            "flow": str(template.get("flow", "")),
            "tgId": 0,
            "comment": user.reference,
        }
        body = {"client": client, "inboundIds": list(inbound_ids)}
        reply = await self._api.call("POST", f"{CLIENTS}/add", body=body, read=False)
        if not reply.success:
            if not _EMAIL_TAKEN.search(reply.msg):
                raise PanelRejected(f"3x-ui refused to create {user.username!r}: {reply.msg}")
            existing = await self._read(user.username, online=False)
            if existing is None:
                raise PanelRejected(f"3x-ui refused to create {user.username!r}: {reply.msg}")
            if existing.reference == user.reference:
                return existing
            raise UserExists(f"3x-ui already has a client {user.username!r} of another order")
        created = await self._read(user.username, online=False)
        if created is None:
            raise PanelUnavailable(f"3x-ui added {user.username!r} but does not return it")
        return created

    async def extend(
        self, external_id: str, *, expires_at: dt.datetime, reset_traffic: bool = False
    ) -> PanelUser:
        found = await self._fetch(external_id)
        if found is None:
            raise UserNotFound(f"3x-ui has no client {external_id!r}")
        body = update_body(found[0], expiry_ms=to_ms(expires_at), enable=True)
        reply = await self._api.call("POST", f"{CLIENTS}/update/{_seg(external_id)}", body=body)
        self._check(reply, external_id, "extend")
        if reset_traffic:
            reply = await self._api.call("POST", f"{CLIENTS}/resetTraffic/{_seg(external_id)}")
            self._check(reply, external_id, "reset the traffic of")
        return await self._require(external_id)

    async def suspend(self, external_id: str) -> PanelUser:
        await self._set_enable(external_id, enable=False)
        return await self._require(external_id)

    async def resume(self, external_id: str) -> PanelUser:
        await self._set_enable(external_id, enable=True)
        return await self._require(external_id)

    async def delete(self, external_id: str) -> None:
        reply = await self._api.call("POST", f"{CLIENTS}/del/{_seg(external_id)}")
        self._check(reply, external_id, "delete")

    async def get(self, external_id: str) -> PanelUser | None:
        return await self._read(external_id, online=True)

    async def find(self, username: str) -> PanelUser | None:
        return await self._read(username, online=True)  # the username is the key

    async def list_users(self) -> AsyncIterator[PanelUser]:
        online = await self._onlines()
        page, seen = 1, 0
        while True:
            params = {"page": page, "pageSize": self._page_size}
            reply = await self._api.call("GET", f"{CLIENTS}/list/paged", params=params, read=True)
            if not reply.success:
                raise PanelRejected(f"3x-ui refused to list clients: {reply.msg}")
            obj = reply.obj
            if not isinstance(obj, dict) or not isinstance(obj.get("items"), list):
                raise garbage()
            items: list[Any] = obj["items"]
            for item in items:
                if not isinstance(item, dict):
                    raise garbage()
                yield self._user(item, used=_traffic_used(item), online=_email(item) in online)
            seen += len(items)
            filtered = obj.get("filtered")  # how many match, over all pages
            if not items or (type(filtered) is int and seen >= filtered):
                return
            page += 1

    async def aclose(self) -> None:
        await self._api.aclose()

    # --- reading ----------------------------------------------------------------------

    async def _fetch(self, email: str) -> tuple[dict[str, Any], int] | None:
        """The stored client record and its used bytes, or None."""
        reply = await self._api.call("GET", f"{CLIENTS}/get/{_seg(email)}", read=True)
        if not reply.success:
            if _not_found(reply.msg):
                return None
            raise PanelRejected(f"3x-ui refused to return {email!r}: {reply.msg}")
        obj = reply.obj
        if not isinstance(obj, dict) or not isinstance(obj.get("client"), dict):
            raise garbage()
        return obj["client"], _int(obj, "usedTraffic")

    async def _read(self, email: str, *, online: bool) -> PanelUser | None:
        found = await self._fetch(email)
        if found is None:
            return None
        is_online = email in await self._onlines() if online else None
        return self._user(found[0], used=found[1], online=is_online)

    async def _require(self, email: str) -> PanelUser:
        user = await self._read(email, online=False)
        if user is None:
            raise UserNotFound(f"3x-ui has no client {email!r}")
        return user

    async def _onlines(self) -> frozenset[str]:
        reply = await self._api.call("POST", f"{CLIENTS}/onlines", read=True)
        if not reply.success:
            raise PanelRejected(f"3x-ui refused to list online clients: {reply.msg}")
        if reply.obj is None:  # Go's empty slice: nobody online
            return frozenset()
        if not isinstance(reply.obj, list) or not all(isinstance(e, str) for e in reply.obj):
            raise garbage()
        return frozenset(reply.obj)

    def _user(self, rec: Mapping[str, Any], *, used: int, online: bool | None) -> PanelUser:
        email = _email(rec)
        enabled = rec.get("enable")
        comment = rec.get("comment", "")  # the paged list leaves an empty comment out
        sub_id = rec.get("subId", "")
        if not isinstance(enabled, bool) or not isinstance(comment, str):
            raise garbage()
        expiry, limit = _int(rec, "expiryTime"), _int(rec, "totalGB")
        return PanelUser(
            username=email,
            external_id=email,
            state=_state(enabled=enabled, expiry_ms=expiry, limit=limit, used=used),
            expires_at=from_ms(expiry),
            used_bytes=used,
            data_limit_bytes=limit or None,
            online=online,
            reference=comment or None,
            subscription_url=(
                f"{self._sub_base}/{sub_id}"
                if self._sub_base and isinstance(sub_id, str) and sub_id
                else None
            ),
        )

    # --- writing ----------------------------------------------------------------------

    async def _set_enable(self, email: str, *, enable: bool) -> None:
        path = f"{CLIENTS}/bulkEnable" if enable else f"{CLIENTS}/bulkDisable"
        reply = await self._api.call("POST", path, body={"emails": [email]})
        verb = "resume" if enable else "suspend"
        if not reply.success:
            raise PanelRejected(f"3x-ui refused to {verb} {email!r}: {reply.msg}")
        obj = reply.obj
        if not isinstance(obj, dict):
            raise garbage()
        for skip in obj.get("skipped") or []:
            if isinstance(skip, dict) and skip.get("email") == email:
                reason = str(skip.get("reason", ""))
                if _not_found(reason):
                    raise UserNotFound(f"3x-ui has no client {email!r}")
                raise PanelRejected(f"3x-ui refused to {verb} {email!r}: {reason}")

    def _check(self, reply: Reply, email: str, verb: str) -> None:
        if reply.success:
            return
        if _not_found(reply.msg):
            raise UserNotFound(f"3x-ui has no client {email!r}")
        raise PanelRejected(f"3x-ui refused to {verb} {email!r}: {reply.msg}")


def update_body(record: Mapping[str, Any], *, expiry_ms: int, enable: bool) -> dict[str, Any]:
    """The full client for ``update``: everything the panel holds, with the changes."""
    body = {k: v for k, v in record.items() if k not in _RECORD_ONLY}
    body["id"] = record.get("uuid", "")  # the Client's "id" is the UUID, not the row id
    allowed = record.get("allowedIPs")
    if isinstance(allowed, str):  # stored comma-joined, sent as a list
        body["allowedIPs"] = [ip.strip() for ip in allowed.split(",") if ip.strip()]
    body["expiryTime"] = expiry_ms
    body["enable"] = enable
    return body


def _int(obj: Mapping[str, Any], key: str) -> int:
    value = obj.get(key, 0)
    if type(value) is not int:
        raise garbage()
    return value


def _email(rec: Mapping[str, Any]) -> str:
    email = rec.get("email")
    if not isinstance(email, str) or not email:
        raise garbage()
    return email


def _traffic_used(item: Mapping[str, Any]) -> int:
    traffic = item.get("traffic")  # left out for a client with no traffic row yet
    if traffic is None:
        return 0
    if not isinstance(traffic, dict):
        raise garbage()
    return _int(traffic, "up") + _int(traffic, "down")


def _state(*, enabled: bool, expiry_ms: int, limit: int, used: int) -> UserState:
    now_ms = to_ms(dt.datetime.now(dt.UTC))
    if 0 < expiry_ms <= now_ms:
        return UserState.EXPIRED
    if limit > 0 and used >= limit:
        return UserState.LIMITED
    if not enabled:
        return UserState.DISABLED
    if expiry_ms < 0:
        return UserState.ON_HOLD
    return UserState.ACTIVE


def _seg(email: str) -> str:
    return quote(email, safe="")
