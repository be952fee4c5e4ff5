"""Remnawave 3.x, through its REST API (the contract in ``@remnawave/backend-contract``).

- Auth: a static API token from the panel's "API Tokens" page, sent as a bearer token.
  It never goes into a URL, so httpx's request log line carries no secret.
- Users are addressed by their numeric ``id`` (3.x; 2.x used a uuid). ``external_id`` is
  that id as a string.
- Every answer is wrapped in ``{"response": ...}``, except ``DELETE`` (204, no body) and
  errors, which are ``{"timestamp", "path", "message", "errorCode"}`` (codes like ``A019``),
  Nest's plain ``{"message", "statusCode"}`` for 401/403 and ``{"statusCode", "message",
  "errors"}`` for a body that fails validation.
- The panel serves only requests that came through its reverse proxy: without
  ``X-Forwarded-For`` and ``X-Forwarded-Proto: https`` it closes the connection without a
  byte. For a plain-http base URL (the panel's address inside its own network) we send
  the two headers the contract itself publishes for this. The token then travels in clear,
  so a plain-http base URL must stay inside that network.
- The order's reference goes into ``description``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from bot.adapters.panels.base import (
    NewUser,
    PanelAuthFailed,
    PanelConfig,
    PanelError,
    PanelRejected,
    PanelUnavailable,
    PanelUser,
    UserExists,
    UserNotFound,
    UserState,
)

USERS = "/api/users"
# The contract's own REMNAWAVE_BYPASS_HTTPS_RESTRCTIONS headers.
FORWARDED_HEADERS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "127.0.0.1"}
USERNAME_EXISTS = "A019"
NOT_FOUND_CODES = {"A025", "A063"}  # USER_NOT_FOUND, GET_USER_BY_UNIQUE_FIELDS_NOT_FOUND
ALREADY_DISABLED = "A029"
ALREADY_ENABLED = "A030"
STATES = {
    "ACTIVE": UserState.ACTIVE,
    "DISABLED": UserState.DISABLED,
    "LIMITED": UserState.LIMITED,
    "EXPIRED": UserState.EXPIRED,
}
# The panel counts a user as online for 30 seconds after its last traffic.
ONLINE_WINDOW = dt.timedelta(seconds=30)
READ_ATTEMPTS = 2
PAGE_SIZE = 500  # the panel allows 1..1000
_ID = re.compile(r"[1-9][0-9]{0,18}")


class _PanelAnswer(Exception):
    """A 4xx answer in the panel's own error shape."""

    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _message(body: dict[str, Any]) -> str:
    """The panel's error message, with the first validation issue when there is one."""
    message = body.get("message")
    text = message if isinstance(message, str) else "no message"
    issues = body.get("errors")
    if isinstance(issues, list) and issues and isinstance(issues[0], dict):
        issue = issues[0]
        where = ".".join(str(part) for part in issue.get("path", []) or [])
        text += f": {where + ' ' if where else ''}{issue.get('message', '')}".rstrip()
    return text


def iso(moment: dt.datetime) -> str:
    """The panel's datetime format, ``2025-01-17T15:38:45.065Z``."""
    if moment.tzinfo is None:
        # NewUser promises aware UTC datetimes; a naive one is taken as UTC, never local.
        moment = moment.replace(tzinfo=dt.UTC)
    utc = moment.astimezone(dt.UTC)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a datetime")
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    return int(value)


def parse_user(data: Any, *, now: dt.datetime | None = None) -> PanelUser:
    """A user object from the panel (``ExtendedUsersSchema``) as a ``PanelUser``."""
    if not isinstance(data, dict):
        raise PanelUnavailable("Remnawave sent a user that is not an object")
    try:
        traffic = data.get("userTraffic")
        if not isinstance(traffic, dict):
            raise ValueError("no userTraffic")
        online_at = _parse_time(traffic.get("onlineAt"))
        moment = now or dt.datetime.now(dt.UTC)
        limit = _int(data["trafficLimitBytes"])
        description = data.get("description")
        url = data.get("subscriptionUrl")
        username = data["username"]
        if not isinstance(username, str):
            raise ValueError("username is not a string")
        return PanelUser(
            username=username,
            external_id=str(_int(data["id"])),
            state=STATES[data["status"]],
            expires_at=_parse_time(data["expireAt"]),
            used_bytes=_int(traffic["usedTrafficBytes"]),
            data_limit_bytes=limit or None,  # 0 means unlimited
            online=online_at is not None and moment - online_at <= ONLINE_WINDOW,
            reference=(description.strip() or None) if isinstance(description, str) else None,
            subscription_url=url if isinstance(url, str) else None,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise PanelUnavailable(f"Remnawave sent a user this adapter cannot read: {exc}") from None


class RemnawaveAdapter:
    name = "remnawave"

    def __init__(self, config: PanelConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        token = config.credentials.get("token")
        if not token:
            raise PanelAuthFailed("Remnawave needs an API token (credentials['token'])")
        self._base = config.base_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if urlsplit(self._base).scheme == "http":
            self._headers.update(FORWARDED_HEADERS)
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._page_size = int(config.options.get("page_size", PAGE_SIZE))
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout)

    # --- the PanelAdapter methods ---

    async def create(self, user: NewUser) -> PanelUser:
        body = self._create_body(user)
        try:
            data = await self._call("POST", USERS, json=body)
        except _PanelAnswer as answer:
            if answer.code != USERNAME_EXISTS:
                raise self._rejected(answer) from None
            existing = await self.find(user.username)
            if existing is not None and existing.reference == user.reference:
                return existing  # made by this order before a timeout or a crash
            raise UserExists(
                f"Remnawave already has a user named {user.username!r}", status=answer.status
            ) from None
        return parse_user(data)

    async def extend(
        self, external_id: str, *, expires_at: dt.datetime, reset_traffic: bool = False
    ) -> PanelUser:
        # An absolute expireAt through PATCH, not the extend action: that one adds days to
        # whatever the expiry is, so a repeated call would give the time twice.
        body = {"id": self._id(external_id), "expireAt": iso(expires_at), "status": "ACTIVE"}
        data = await self._once("PATCH", USERS, json=body)
        if reset_traffic:
            data = await self._once("POST", f"{self._user_path(external_id)}/actions/reset-traffic")
        return parse_user(data)

    async def suspend(self, external_id: str) -> PanelUser:
        return await self._action(external_id, "disable", already=ALREADY_DISABLED)

    async def resume(self, external_id: str) -> PanelUser:
        return await self._action(external_id, "enable", already=ALREADY_ENABLED)

    async def delete(self, external_id: str) -> None:
        await self._once("DELETE", self._user_path(external_id))

    async def get(self, external_id: str) -> PanelUser | None:
        if not _ID.fullmatch(external_id):
            return None
        return await self._read_user(self._user_path(external_id))

    async def find(self, username: str) -> PanelUser | None:
        return await self._read_user(f"{USERS}/by-username/{quote(username, safe='')}")

    async def list_users(self) -> AsyncIterator[PanelUser]:
        start = 0
        # Oldest first, so users created during the walk land on pages not yet read.
        sorting = '[{"id":"id","desc":false}]'
        while True:
            params = {"start": start, "size": self._page_size, "sorting": sorting}
            data = await self._read("GET", USERS, params=params)
            if not isinstance(data, dict) or not isinstance(data.get("users"), list):
                raise PanelUnavailable("Remnawave sent a user list this adapter cannot read")
            users = data["users"]
            for item in users:
                yield parse_user(item)
            start += len(users)
            total = data.get("total")
            if not users or not isinstance(total, int) or start >= total:
                return

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- helpers ---

    def _create_body(self, user: NewUser) -> dict[str, Any]:
        template: Mapping[str, Any] = user.template
        body: dict[str, Any] = {
            "username": user.username,
            "expireAt": iso(user.expires_at),
            "trafficLimitBytes": user.data_limit_bytes or 0,  # 0 means unlimited
            "description": user.reference,
            "activeInternalSquads": list(template.get("squads", [])),
        }
        optional = {
            "external_squad": "externalSquadUuid",
            "traffic_limit_strategy": "trafficLimitStrategy",
            "hwid_device_limit": "hwidDeviceLimit",
        }
        for key, field in optional.items():
            if key in template:
                body[field] = template[key]
        return body

    def _id(self, external_id: str) -> int:
        if not _ID.fullmatch(external_id):
            raise UserNotFound(f"{external_id!r} is not a Remnawave user id")
        return int(external_id)

    def _user_path(self, external_id: str) -> str:
        return f"{USERS}/{self._id(external_id)}"

    async def _action(self, external_id: str, action: str, *, already: str) -> PanelUser:
        try:
            data = await self._call("POST", f"{self._user_path(external_id)}/actions/{action}")
        except _PanelAnswer as answer:
            if answer.code != already:
                raise self._rejected(answer) from None
            # Already in the wanted state (a repeat after a timeout): done, not an error.
            current = await self.get(external_id)
            if current is None:
                raise UserNotFound(f"Remnawave has no user {external_id}") from None
            return current
        return parse_user(data)

    async def _read_user(self, path: str) -> PanelUser | None:
        try:
            data = await self._read("GET", path)
        except UserNotFound:
            return None
        return parse_user(data)

    async def _read(self, method: str, path: str, **kwargs: Any) -> Any:
        """A read, so safe to repeat: tried again once when no usable answer came."""
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                return await self._once(method, path, **kwargs)
            except PanelUnavailable:
                if attempt == READ_ATTEMPTS:
                    raise
                await asyncio.sleep(0.1 * attempt)
        raise AssertionError("unreachable")

    async def _once(self, method: str, path: str, **kwargs: Any) -> Any:
        """One request, never repeated; a 4xx answer becomes the matching error."""
        try:
            return await self._call(method, path, **kwargs)
        except _PanelAnswer as answer:
            raise self._rejected(answer) from None

    def _rejected(self, answer: _PanelAnswer) -> PanelError:
        text = f"Remnawave refused: {answer.message}" + (f" ({answer.code})" if answer.code else "")
        if answer.code in NOT_FOUND_CODES:
            return UserNotFound(text, status=answer.status)
        if answer.code == USERNAME_EXISTS:
            return UserExists(text, status=answer.status)
        return PanelRejected(text, status=answer.status)

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One HTTP request; the unwrapped ``response``, None for 204, or an error."""
        try:
            reply = await self._client.request(
                method, self._base + path, headers=self._headers, timeout=self._timeout, **kwargs
            )
        except httpx.TimeoutException:
            raise PanelUnavailable(f"Remnawave did not answer {method} {path} in time") from None
        except httpx.HTTPError as exc:
            # Includes a connection closed without an answer, which is also how the panel's
            # proxy check refuses a request.
            raise PanelUnavailable(
                f"Remnawave could not be reached for {method} {path}: {type(exc).__name__}"
            ) from None
        status = reply.status_code
        if status in (401, 403):
            raise PanelAuthFailed(
                "Remnawave refused the API token (expired, deleted or missing a scope)",
                status=status,
            )
        if status >= 500:
            raise PanelUnavailable(f"Remnawave answered {status} to {method} {path}", status=status)
        if status == 204:
            return None
        try:
            body = reply.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise PanelUnavailable(
                f"Remnawave answered {method} {path} with a body that is not its JSON",
                status=status,
            )
        if status >= 400:
            code = body.get("errorCode")
            raise _PanelAnswer(status, code if isinstance(code, str) else None, _message(body))
        if status >= 300 or "response" not in body:
            raise PanelUnavailable(
                f"Remnawave answered {method} {path} without its response wrapper", status=status
            )
        return body["response"]
