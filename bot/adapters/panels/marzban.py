"""Marzban and PasarGuard (its fork): one FastAPI admin API, two flavours.

Both log an admin in with ``POST /api/admin/token`` (an OAuth2 password *form*) and take
the bearer token it returns; PasarGuard (5.1 and later) also takes a static API key
(``X-Api-Key: pg_key_...``). Users live under ``/api/user/{username}``; the username is
the external id. Errors are FastAPI's ``{"detail": ...}`` (a string, or for 422 a
``{field: message}`` object).

Where the flavours differ:

- placement: Marzban takes ``proxies``/``inbounds``; PasarGuard takes ``group_ids``
  (required, at least one) and optionally ``proxy_settings``;
- ``expire``: both accept unix seconds; Marzban answers with seconds, PasarGuard with an
  ISO datetime;
- create answers 200 (Marzban) or 201 (PasarGuard); delete answers 200 with a JSON body
  (Marzban) or 204 with none (PasarGuard).

Credentials: ``{"username": ..., "password": ...}``, or for PasarGuard ``{"api_key": ...}``.
Options: ``page_size`` for ``list_users`` (default 100).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote, urljoin

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

logger = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 100
# Reads are retried once after a timeout, a lost connection or a 5xx; writes never are.
READ_ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.1
# A token this close to its ``exp`` is renewed before use rather than after a 401.
TOKEN_MARGIN_SECONDS = 30
# PasarGuard counts a user online when seen within the last two minutes.
ONLINE_WINDOW = dt.timedelta(minutes=2)
TOKEN_PATH = "/api/admin/token"


class _Retryable(PanelUnavailable):
    """No answer or a 5xx: a read may safely ask again."""


def _ts(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    return int(moment.timestamp())


def _instant(value: Any) -> dt.datetime | None:
    """Marzban sends unix seconds or naive UTC ISO strings, PasarGuard aware ISO strings."""
    if value is None or value == 0:
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not an instant")
    if isinstance(value, int):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
        return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)
    raise ValueError(f"not an instant: {type(value).__name__}")


def _jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT, read without verifying it (only to renew in time)."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        exp = claims.get("exp")
    except (IndexError, ValueError, binascii.Error, AttributeError):
        return None
    return float(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None


def _path(username: str) -> str:
    return f"/api/user/{quote(username, safe='')}"


class MarzbanAdapter:
    """Marzban's admin API. PasarGuard is the subclass below."""

    name = "marzban"

    def __init__(self, config: PanelConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._base = config.base_url.rstrip("/")
        self._timeout = httpx.Timeout(config.timeout_seconds)
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout)
        self._page_size = int(config.options.get("page_size", DEFAULT_PAGE_SIZE))
        self._token: str | None = None
        self._token_expiry: float | None = None
        self._login_lock = asyncio.Lock()

    # --- the operations -------------------------------------------------------------

    async def create(self, user: NewUser) -> PanelUser:
        body = {
            "username": user.username,
            "expire": _ts(user.expires_at),
            "data_limit": user.data_limit_bytes or 0,  # 0 is unlimited on both panels
            "data_limit_reset_strategy": user.template.get("data_limit_reset_strategy", "no_reset"),
            "note": user.reference,
            **self._placement(user.template),
        }
        response = await self._request("POST", "/api/user", json=body)
        if response.is_success:
            return self._user_from(response, "POST /api/user")
        if response.status_code == 409:
            # Ours from an earlier attempt (same reference) or someone else's.
            existing = await self.get(user.username)
            if existing is None:
                raise PanelUnavailable(f"{user.username}: 409 on create, then not found")
            if existing.reference == user.reference:
                return existing
            raise UserExists(f"{user.username} exists for another reference", status=409)
        # A 404 here means a group or template, not the user.
        raise self._failure(response, "POST /api/user", not_found=PanelRejected)

    async def extend(
        self, external_id: str, *, expires_at: dt.datetime, reset_traffic: bool = False
    ) -> PanelUser:
        extended = await self._modify(external_id, {"status": "active", "expire": _ts(expires_at)})
        if not reset_traffic:
            return extended
        what = f"POST {_path(external_id)}/reset"
        response = await self._request("POST", f"{_path(external_id)}/reset")
        if response.is_success:
            return self._user_from(response, what)
        raise self._failure(response, what)

    async def suspend(self, external_id: str) -> PanelUser:
        return await self._modify(external_id, {"status": "disabled"})

    async def resume(self, external_id: str) -> PanelUser:
        return await self._modify(external_id, {"status": "active"})

    async def delete(self, external_id: str) -> None:
        what = f"DELETE {_path(external_id)}"
        response = await self._request("DELETE", _path(external_id))
        if response.status_code == 204:
            return
        if response.is_success:
            self._json(response, what)  # Marzban confirms with a JSON body; anything else is not it
            return
        raise self._failure(response, what)

    async def get(self, external_id: str) -> PanelUser | None:
        what = f"GET {_path(external_id)}"
        response = await self._request("GET", _path(external_id), read=True)
        if response.is_success:
            return self._user_from(response, what)
        failure = self._failure(response, what)
        if isinstance(failure, UserNotFound):
            return None
        raise failure

    async def find(self, username: str) -> PanelUser | None:
        return await self.get(username)

    async def list_users(self) -> AsyncIterator[PanelUser]:
        offset = 0
        seen: set[str] = set()
        while True:
            # Oldest first, so users created while we page land on later pages.
            params = {"offset": offset, "limit": self._page_size, "sort": "created_at"}
            response = await self._request("GET", "/api/users", params=params, read=True)
            if not response.is_success:
                raise self._failure(response, "GET /api/users")
            data = self._json(response, "GET /api/users")
            page, total = data.get("users"), data.get("total")
            if not isinstance(page, list) or not isinstance(total, int):
                raise PanelUnavailable("GET /api/users: a body that is not the panel's list")
            for raw in page:
                user = self._user(raw, "GET /api/users")
                if user.username not in seen:
                    seen.add(user.username)
                    yield user
            offset += len(page)
            if not page or offset >= total:
                return

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- what the flavours do differently -------------------------------------------

    def _placement(self, template: Mapping[str, Any]) -> dict[str, Any]:
        return {"proxies": template.get("proxies", {}), "inbounds": template.get("inbounds", {})}

    def _uses_login(self) -> bool:
        return True

    async def _auth_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {await self._bearer()}"}

    # --- users ------------------------------------------------------------------------

    async def _modify(self, username: str, body: dict[str, Any]) -> PanelUser:
        what = f"PUT {_path(username)}"
        response = await self._request("PUT", _path(username), json=body)
        if response.is_success:
            return self._user_from(response, what)
        raise self._failure(response, what)

    def _user_from(self, response: httpx.Response, what: str) -> PanelUser:
        return self._user(self._json(response, what), what)

    def _user(self, data: Any, what: str) -> PanelUser:
        try:
            username = data["username"]
            used = data.get("used_traffic") or 0
            limit = data.get("data_limit") or None
            note = data.get("note")
            link = data.get("subscription_url") or None
            if not isinstance(username, str) or not isinstance(used, int):
                raise TypeError("username or used_traffic")
            if not isinstance(limit, int | None) or not isinstance(note, str | None):
                raise TypeError("data_limit or note")
            if not isinstance(link, str | None):
                raise TypeError("subscription_url")
            state = UserState(data["status"])
            expires_at = _instant(data.get("expire"))
            online_at = _instant(data.get("online_at"))
        except (KeyError, TypeError, ValueError) as exc:
            raise PanelUnavailable(f"{what}: a user body that is not the panel's") from exc
        return PanelUser(
            username=username,
            external_id=username,
            state=state,
            expires_at=expires_at,
            used_bytes=used,
            data_limit_bytes=limit,
            online=online_at is not None and dt.datetime.now(dt.UTC) - online_at < ONLINE_WINDOW,
            reference=(note or "").strip() or None,
            # With no URL prefix configured the panel answers a path; make it a link.
            subscription_url=urljoin(self._base + "/", link) if link else None,
        )

    # --- HTTP -------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        read: bool = False,
    ) -> httpx.Response:
        attempts = READ_ATTEMPTS if read else 1
        for attempt in range(1, attempts + 1):
            try:
                response = await self._authorised(method, path, json=json, params=params)
                status = response.status_code
                if status >= 500:
                    raise _Retryable(f"{method} {path}: the panel answered {status}", status=status)
                return response
            except _Retryable:
                if attempt == attempts:
                    raise
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable")

    async def _authorised(
        self, method: str, path: str, *, json: Any, params: Mapping[str, Any] | None
    ) -> httpx.Response:
        headers = await self._auth_headers()
        response = await self._send(method, path, headers=headers, json=json, params=params)
        if response.status_code == 401 and self._uses_login():
            # The token expired or was revoked: log in again, once, and repeat. A 401 is
            # answered before the route runs, so repeating even a create is safe.
            await self._renew(stale=headers)
            headers = await self._auth_headers()
            response = await self._send(method, path, headers=headers, json=json, params=params)
        if response.status_code == 401:
            raise PanelAuthFailed(f"{method} {path}: the panel refused the credentials", status=401)
        return response

    async def _send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str],
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            return await self._client.request(
                method,
                self._base + path,
                headers=headers,
                json=json,
                params=params,
                data=data,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise _Retryable(
                f"{method} {path}: no answer in {self.config.timeout_seconds}s"
            ) from exc
        except httpx.TransportError as exc:
            raise _Retryable(f"{method} {path}: {type(exc).__name__}") from exc

    def _json(self, response: httpx.Response, what: str) -> dict[str, Any]:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise PanelUnavailable(
                f"{what}: {response.status_code} with a body that is not the panel's JSON",
                status=response.status_code,
            )
        return data

    def _failure(
        self,
        response: httpx.Response,
        what: str,
        *,
        not_found: type[PanelRejected] = UserNotFound,
    ) -> PanelError:
        status = response.status_code
        if status >= 500:
            return _Retryable(f"{what}: the panel answered {status}", status=status)
        if status < 400:
            return PanelUnavailable(f"{what}: unexpected {status}", status=status)
        try:
            detail = self._json(response, what)["detail"]
        except (PanelUnavailable, KeyError):
            # A proxy's page, not FastAPI's error: we did not reach the panel's route.
            return PanelUnavailable(f"{what}: {status} that is not the panel's", status=status)
        message = f"{what}: {status} {str(detail)[:200]}"
        if status == 404:
            return not_found(message, status=status)
        return PanelRejected(message, status=status)

    # --- the session ------------------------------------------------------------------

    def _token_fresh(self) -> bool:
        if self._token is None:
            return False
        return self._token_expiry is None or time.time() < self._token_expiry - TOKEN_MARGIN_SECONDS

    async def _bearer(self) -> str:
        async with self._login_lock:
            if not self._token_fresh():
                await self._login()
            assert self._token is not None
            return self._token

    async def _renew(self, *, stale: Mapping[str, str]) -> None:
        async with self._login_lock:
            # Another call may have renewed it while this one waited.
            if self._token is None or stale.get("Authorization") == f"Bearer {self._token}":
                logger.info("%s session expired; logging in again", self.name)
                self._token = None
                await self._login()

    async def _login(self) -> None:
        username = self.config.credentials.get("username")
        password = self.config.credentials.get("password")
        if not username or not password:
            raise PanelAuthFailed(f"{self.name}: the credentials need a username and a password")
        form = {"grant_type": "password", "username": username, "password": password}
        what = f"POST {TOKEN_PATH}"
        response = await self._send("POST", TOKEN_PATH, headers={}, data=form)
        if response.status_code in (401, 403):
            raise PanelAuthFailed(
                f"{what}: the panel refused the login", status=response.status_code
            )
        if not response.is_success:
            raise self._failure(response, what)
        token = self._json(response, what).get("access_token")
        if not isinstance(token, str) or not token:
            raise PanelUnavailable(f"{what}: no access token in the answer")
        self._token = token
        self._token_expiry = _jwt_expiry(token)


class PasarGuardAdapter(MarzbanAdapter):
    """PasarGuard: Marzban's fork, with groups instead of inbounds and optional API keys."""

    name = "pasarguard"

    def _placement(self, template: Mapping[str, Any]) -> dict[str, Any]:
        placement: dict[str, Any] = {"group_ids": list(template.get("group_ids", []))}
        if "proxy_settings" in template:
            placement["proxy_settings"] = template["proxy_settings"]
        return placement

    def _uses_login(self) -> bool:
        return not self.config.credentials.get("api_key")

    async def _auth_headers(self) -> dict[str, str]:
        api_key = self.config.credentials.get("api_key")
        if api_key:
            return {"X-Api-Key": api_key}
        return await super()._auth_headers()
