"""Talking to a 3x-ui panel: auth, requests, and the panel's answers turned into errors.

From the panel's handlers (``internal/web/controller/api.go``, ``index.go``, ``util.go``,
``internal/web/middleware/security.go``, ``internal/web/session``):

- ``Authorization: Bearer <token>`` authenticates any ``/panel/api/*`` call and skips the
  CSRF check. Without a token, the ``3x-ui`` session cookie from ``POST /login`` does;
  panels with CSRF protection want the session's token from ``GET /csrf-token`` in
  ``X-CSRF-Token`` on the login and on every unsafe call (older panels have no such
  route: 404, and need none).
- An unauthenticated API call answers an empty 404 (401 only for
  ``X-Requested-With: XMLHttpRequest``); a cookie call without the CSRF token an empty
  403; a scoped token on a route it may not use a 403 with the JSON envelope.
- Handlers answer HTTP 200 with ``{"success", "msg", "obj"}``, refusals included.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from bot.adapters.panels.base import (
    PanelAuthFailed,
    PanelConfig,
    PanelError,
    PanelRejected,
    PanelUnavailable,
)

SESSION_COOKIE = "3x-ui"
CSRF_HEADER = "X-CSRF-Token"
READ_ATTEMPTS = 2
RETRY_DELAY_SECONDS = 0.2


@dataclass(frozen=True)
class Reply:
    """The panel's envelope: ``success`` false is a refusal answered with HTTP 200."""

    success: bool
    msg: str
    obj: Any


class _AuthRequired(PanelError):
    """The panel did not take the call as authenticated (empty 401/403/404)."""


def garbage() -> PanelUnavailable:
    return PanelUnavailable("3x-ui answered with a body that is not its JSON", status=200)


class XuiApi:
    """One panel's HTTP session: a static API token, or a cookie login kept alive."""

    def __init__(self, config: PanelConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self._base = config.base_url.rstrip("/")
        self._token = config.credentials.get("token") or None
        self._username = config.credentials.get("username", "")
        self._password = config.credentials.get("password", "")
        if self._token is None and not (self._username and self._password):
            raise ValueError("3x-ui needs a token, or a username and a password")
        self._timeout = config.timeout_seconds
        self._client = client or httpx.AsyncClient(timeout=config.timeout_seconds)
        self._owns_client = client is None
        self._csrf: str | None = None
        self._logged_in = False
        self._generation = 0  # bumped by each login, so one refusal triggers one login
        self._login_lock = asyncio.Lock()

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        read: bool = False,
    ) -> Reply:
        """One API call; a read is sent again once when its outcome was unknown."""
        attempts = READ_ATTEMPTS if read else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._authed(method, path, body, params)
            except PanelUnavailable:
                if attempt == attempts:
                    raise
                await asyncio.sleep(RETRY_DELAY_SECONDS)
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _authed(
        self, method: str, path: str, body: Any, params: Mapping[str, Any] | None
    ) -> Reply:
        # A refused session means the handler never ran, so sending again is safe.
        relogged = False
        while True:
            generation = await self._ensure_session()
            response = await self._send(method, path, body=body, params=params)
            try:
                return envelope(response)
            except _AuthRequired as exc:
                if self._token is not None:
                    raise PanelAuthFailed(
                        f"3x-ui did not accept the API token (HTTP {exc.status})", status=exc.status
                    ) from None
                if relogged:
                    raise PanelAuthFailed(
                        f"3x-ui refused the session right after a login (HTTP {exc.status})",
                        status=exc.status,
                    ) from None
                relogged = True
                if self._generation == generation:  # nobody logged in again meanwhile
                    self._logged_in = False

    async def _ensure_session(self) -> int:
        if self._token is not None:
            return 0
        async with self._login_lock:
            if not self._logged_in:
                await self._login()
                self._logged_in = True
                self._generation += 1
            return self._generation

    async def _login(self) -> None:
        self._client.cookies.delete(SESSION_COOKIE)
        self._csrf = None
        response = await self._send("GET", "/csrf-token")
        if response.status_code != 404:
            reply = envelope(response)
            if not reply.success or not isinstance(reply.obj, str) or not reply.obj:
                raise PanelUnavailable("3x-ui gave no CSRF token")
            self._csrf = reply.obj
        form = {"username": self._username, "password": self._password}
        response = await self._send("POST", "/login", form=form)
        try:
            reply = envelope(response)
        except _AuthRequired as exc:
            raise PanelAuthFailed(
                f"3x-ui refused the login request (HTTP {exc.status})", status=exc.status
            ) from None
        if not reply.success:
            raise PanelAuthFailed(f"3x-ui refused the login: {reply.msg}")

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Response:
        # Secrets travel in headers and the login form only, never in the URL that
        # httpx logs; error messages name the method and path, nothing else.
        headers = {"Accept": "application/json"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        elif method != "GET" and self._csrf:
            headers[CSRF_HEADER] = self._csrf
        try:
            return await self._client.request(
                method,
                self._base + path,
                json=body,
                data=form,
                params=params,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as exc:
            raise PanelUnavailable(f"3x-ui did not answer {method} {path} in time") from exc
        except httpx.HTTPError as exc:
            raise PanelUnavailable(f"3x-ui could not be reached ({type(exc).__name__})") from exc


def envelope(response: httpx.Response) -> Reply:
    """The panel's answer, or the error its status says."""
    status = response.status_code
    if status >= 500:
        raise PanelUnavailable(f"3x-ui answered HTTP {status}", status=status)
    if status in (401, 404):
        raise _AuthRequired("not authenticated", status=status)
    if status == 403:
        body = _json(response)
        if isinstance(body, dict) and isinstance(body.get("msg"), str):
            # A scoped API token refused on this route: logging in again cannot help.
            raise PanelAuthFailed(f"3x-ui refused the call: {body['msg']}", status=status)
        raise _AuthRequired("no valid CSRF token", status=status)
    if status != 200:
        raise PanelRejected(f"3x-ui answered HTTP {status}", status=status)
    body = _json(response)
    if not isinstance(body, dict) or not isinstance(body.get("success"), bool):
        raise garbage()
    msg = body.get("msg")
    return Reply(body["success"], msg if isinstance(msg, str) else "", body.get("obj"))


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
