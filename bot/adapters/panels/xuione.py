"""XUI.one (Xtream-style IPTV) panel: subscription *lines* through the admin API.

How the admin API behaves (XUI.one 1.5.x; its open fork XC_VM keeps the same code):

- One endpoint, ``{base_url}/{access_code}/``. Every call names an ``action`` and carries
  the admin's ``api_key``. The panel reads query and form parameters as one set (the form
  wins), so this adapter POSTs every call with the key in the form body, where no URL (and
  so no HTTP client or proxy log line) carries it. ``options["api_key_in"] = "query"``
  puts it in the query string, as the panel's examples do: then the logging set-up must
  redact it, because httpx logs every request URL at INFO.
- Answers are HTTP 200 ``{"status": "STATUS_SUCCESS", "data": ...}``. A refusal is another
  ``status`` (``STATUS_EXISTS_USERNAME``, ``STATUS_INVALID_DATE``...); a refused key is
  ``{"status": "STATUS_FAILURE", "error": "Invalid API key."}``; an action on a line id
  that does not exist is a bare ``{"status": "STATUS_FAILURE"}``.
- A line (``get_line``, and ``create_line``/``edit_line`` answer with it): ``id``,
  ``username``, ``password``, ``exp_date`` (unix seconds; null: never), ``enabled``,
  ``admin_enabled`` (0: banned), ``max_connections`` (0: unlimited), ``bouquet`` (a JSON
  list inside a string), ``is_trial``, ``admin_notes``, ``reseller_notes``... Numbers may
  come as strings.
- ``create_line`` and ``edit_line`` take ``bouquets_selected`` as a JSON list in one
  string, and parse ``exp_date`` with PHP's ``DateTime``, where a bare number of seconds is
  not a date: this adapter sends ``@<unix seconds>`` (``options["exp_date_style"] =
  "unix"`` sends the bare number, for a build that takes it).
- Flags (``is_trial``, ``is_restreamer``...) are set by being present, whatever their
  value (``is_trial=0`` makes a trial line), so a flag is sent only when it is on.
- ``edit_line`` rebuilds the whole line from the request: a field left out returns to its
  default (a new random username and password, one connection, no expiry, flags off), so
  ``extend`` reads the line and sends it back whole. Every API edit forgets the ISP an
  ISP-locked line learnt; the API offers no way to keep it.
- ``get_lines`` pages with ``start``/``limit`` and filters with ``search[value]`` (a LIKE
  over username, password and notes); its rows have no ``bouquet``.
- The admin API's ``create_line`` ignores packages: a template's ``package_id`` is turned
  here into the package's bouquets and connections (``get_packages``).
- IPTV lines count connections, not traffic: ``data_limit_bytes`` is not sent, reads report
  no limit and no use, and ``reset_traffic`` has nothing to reset.

Credentials: ``{"api_key": ...}``. Options: ``access_code`` (required); ``note_field``
(``admin_notes``, the default, or ``reseller_notes``: where the order reference goes, on
the note's first line); ``page_size`` (100); ``member_id`` (owner of new lines; default the
key's admin); ``playlist_url`` (the line server's base URL, to build an M3U link).
Template: ``{"package_id": 3}`` or ``{"bouquets": [1, 2], "max_connections": 1}``, plus
``"is_trial": true`` for trial lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import secrets
import string
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlencode

import httpx

from bot.adapters.panels import xuione_wire as wire
from bot.adapters.panels.base import (
    NewUser,
    PanelAuthFailed,
    PanelConfig,
    PanelRejected,
    PanelUnavailable,
    PanelUser,
    UserExists,
    UserNotFound,
    UserState,
)
from bot.adapters.panels.xuione_wire import BAD_KEY, EXISTS_USERNAME, FAILURE, SUCCESS, Form, Row

log = logging.getLogger(__name__)

READ_ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.2
PASSWORD_LENGTH = 12
PASSWORD_ALPHABET = string.ascii_letters + string.digits


class XuiOneAdapter:
    name = "xui-one"

    def __init__(self, config: PanelConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        options = config.options
        access_code = str(options.get("access_code", "")).strip("/")
        if not access_code:
            raise ValueError("XUI.one needs options['access_code'], the admin API's path")
        self._url = f"{config.base_url.rstrip('/')}/{access_code}/"
        self._note_field = str(options.get("note_field", "admin_notes"))
        if self._note_field not in {"admin_notes", "reseller_notes"}:
            raise ValueError("note_field is admin_notes or reseller_notes")
        self._page_size = int(options.get("page_size", 100))
        member_id = options.get("member_id")
        self._member_id = None if member_id is None else str(member_id)
        playlist_url = options.get("playlist_url")
        self._playlist_url = None if playlist_url is None else str(playlist_url).rstrip("/")
        self._key_in_query = options.get("api_key_in", "body") == "query"
        self._bare_seconds = options.get("exp_date_style", "at") == "unix"
        self._timeout = config.timeout_seconds
        self._client = client or httpx.AsyncClient(timeout=config.timeout_seconds)
        self._owns_client = client is None

    # --- the interface --------------------------------------------------------------

    async def create(self, user: NewUser) -> PanelUser:
        body = await self._call("create_line", await self._create_form(user))
        if body["status"] == SUCCESS:
            return self._user(wire.line_of(body, "create_line"))
        if body["status"] != EXISTS_USERNAME:
            raise wire.refused("create_line", body)
        # Made by an earlier try of this order (its answer lost), or someone else's.
        existing = await self.find(user.username)
        if existing is not None and existing.reference == user.reference:
            return existing
        raise UserExists(f"xui-one: the username {user.username!r} is taken by another line")

    async def extend(
        self, external_id: str, *, expires_at: dt.datetime, reset_traffic: bool = False
    ) -> PanelUser:
        del reset_traffic  # an IPTV line has no traffic counter
        row = await self._line(external_id)
        if row is None:
            raise UserNotFound(f"xui-one: no line {external_id}")
        try:
            form = wire.whole_line(row)
        except (KeyError, TypeError, ValueError):
            raise PanelUnavailable("xui-one get_line: the line cannot be read") from None
        form.update(id=external_id, exp_date=self._exp_date(expires_at), enabled="1")
        body = await self._call("edit_line", form)
        wire.check_line_action("edit_line", body, external_id)
        data = body.get("data")
        if isinstance(data, dict) and "id" in data:
            return self._user(data)
        return await self._existing(external_id)

    async def suspend(self, external_id: str) -> PanelUser:
        body = await self._call("disable_line", {"id": external_id})
        wire.check_line_action("disable_line", body, external_id)
        return await self._existing(external_id)

    async def resume(self, external_id: str) -> PanelUser:
        # enable_line leaves a ban (admin_enabled = 0) in place: that stays an admin's call.
        body = await self._call("enable_line", {"id": external_id})
        wire.check_line_action("enable_line", body, external_id)
        return await self._existing(external_id)

    async def delete(self, external_id: str) -> None:
        body = await self._call("delete_line", {"id": external_id})
        wire.check_line_action("delete_line", body, external_id)

    async def get(self, external_id: str) -> PanelUser | None:
        row = await self._line(external_id)
        return None if row is None else self._user(row)

    async def find(self, username: str) -> PanelUser | None:
        # The search also matches passwords and notes, and LIKE ignores case: compare here.
        async with contextlib.aclosing(self._rows(search=username)) as rows:
            async for row in rows:
                if row.get("username") == username:
                    return self._user(row)
        return None

    async def list_users(self) -> AsyncIterator[PanelUser]:
        async with contextlib.aclosing(self._rows()) as rows:
            async for row in rows:
                yield self._user(row)

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # --- requests -------------------------------------------------------------------

    async def _create_form(self, user: NewUser) -> Form:
        bouquets, connections = await self._placement(user.template)
        form: Form = {
            "username": user.username,
            "password": "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH)),
            "max_connections": str(connections),
            "bouquets_selected": json.dumps(bouquets),
            "exp_date": self._exp_date(user.expires_at),
            self._note_field: user.reference,
        }
        if user.template.get("is_trial"):
            form["is_trial"] = "1"
        if self._member_id is not None:
            form["member_id"] = self._member_id
        return form

    async def _placement(self, template: Mapping[str, Any]) -> tuple[list[int], int]:
        """The bouquets and connection limit a new line gets from the plan's template."""
        bouquets = template.get("bouquets")
        connections = template.get("max_connections")
        package_id = template.get("package_id")
        if package_id is not None and (bouquets is None or connections is None):
            package = await self._package(str(package_id))
            if bouquets is None:
                bouquets = wire.json_list(package.get("bouquets"))
            if connections is None:
                connections = package.get("max_connections")
        try:
            return [int(b) for b in bouquets or []], 1 if connections is None else int(connections)
        except (TypeError, ValueError):
            raise PanelRejected(
                "xui-one: the template's bouquets or connections are not numbers"
            ) from None

    async def _package(self, package_id: str) -> Row:
        body = await self._call("get_packages", read=True)
        if body["status"] != SUCCESS:
            raise wire.refused("get_packages", body)
        data = body.get("data")
        # PHP sends its id-keyed array as an object, or as a list when the ids run 0, 1...
        if isinstance(data, dict):
            packages = list(data.values())
        elif isinstance(data, list):
            packages = data
        else:
            raise PanelUnavailable("xui-one get_packages: the answer is not the panel's JSON")
        for package in packages:
            if isinstance(package, dict) and str(package.get("id")) == package_id:
                return package
        raise PanelRejected(f"xui-one: there is no package {package_id}")

    def _exp_date(self, moment: dt.datetime) -> str:
        seconds = int(moment.timestamp())
        return str(seconds) if self._bare_seconds else f"@{seconds}"

    async def _line(self, external_id: str) -> Row | None:
        body = await self._call("get_line", {"id": external_id}, read=True)
        if body["status"] == SUCCESS:
            return wire.line_of(body, "get_line")
        if wire.is_bare_failure(body):
            return None
        raise wire.refused("get_line", body)

    async def _existing(self, external_id: str) -> PanelUser:
        row = await self._line(external_id)
        if row is None:
            raise UserNotFound(f"xui-one: no line {external_id}")
        return self._user(row)

    async def _rows(self, *, search: str | None = None) -> AsyncGenerator[Row, None]:
        start = 0
        seen: set[str] = set()
        while True:
            params: Form = {"start": str(start), "limit": str(self._page_size)}
            if search is not None:
                params["search[value]"] = search
            body = await self._call("get_lines", params, read=True)
            if body["status"] != SUCCESS:
                raise wire.refused("get_lines", body)
            rows = body.get("data")
            if not isinstance(rows, list):
                raise PanelUnavailable("xui-one get_lines: the answer is not the panel's JSON")
            for row in rows:
                if not isinstance(row, dict) or "id" not in row:
                    raise PanelUnavailable("xui-one get_lines: a row is not a line")
                # Offsets shift when lines come and go between pages; list each once.
                if str(row["id"]) not in seen:
                    seen.add(str(row["id"]))
                    yield row
            if len(rows) < self._page_size:
                return
            start += len(rows)

    async def _call(
        self, action: str, params: Form | None = None, *, read: bool = False
    ) -> dict[str, Any]:
        """One action's answer (a dict with a string ``status``). Only reads are retried."""
        attempts = READ_ATTEMPTS if read else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._call_once(action, params or {})
            except PanelUnavailable:
                if attempt == attempts:
                    raise
                log.info("xui-one %s: no usable answer, asking again", action)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable")

    async def _call_once(self, action: str, params: Form) -> dict[str, Any]:
        key = self.config.credentials["api_key"]
        query = {"action": action}
        form = dict(params)
        if self._key_in_query:
            query["api_key"] = key
        else:
            form["api_key"] = key
        response: httpx.Response | None = None
        failure = ""
        # The error is noted and raised outside the handler, so no exception that may
        # carry the URL is chained to what callers see.
        try:
            response = await self._client.post(
                self._url, params=query, data=form, timeout=self._timeout
            )
        except httpx.TimeoutException:
            failure = f"no answer within {self._timeout:g} s"
        except httpx.HTTPError as error:
            failure = f"no answer ({type(error).__name__})"
        if response is None:
            raise PanelUnavailable(f"xui-one {action}: {failure}")
        status = response.status_code
        if status >= 500:
            raise PanelUnavailable(f"xui-one {action}: HTTP {status}", status=status)
        if status in (401, 403):
            raise PanelAuthFailed(f"xui-one {action}: HTTP {status}, access refused", status=status)
        if not 200 <= status < 300:
            raise PanelRejected(f"xui-one {action}: HTTP {status}", status=status)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("status"), str):
            raise PanelUnavailable(f"xui-one {action}: the answer is not the panel's JSON")
        log.debug("xui-one %s: %s", action, body["status"])
        if body["status"] == FAILURE and body.get("error") == BAD_KEY:
            raise PanelAuthFailed(f"xui-one {action}: the API key was refused")
        return body

    # --- answers --------------------------------------------------------------------

    def _user(self, row: Row) -> PanelUser:
        try:
            username = str(row["username"])
            password = str(row.get("password") or "")
            seconds = wire.number(row.get("exp_date"), 0)
            usable = wire.number(row.get("enabled"), 1) and wire.number(row.get("admin_enabled"), 1)
            connections = row.get("active_connections")
            online = None if connections is None else wire.number(connections, 0) > 0
        except (KeyError, TypeError, ValueError):
            raise PanelUnavailable("xui-one: a line in the answer cannot be read") from None
        expires_at = dt.datetime.fromtimestamp(seconds, dt.UTC) if seconds else None
        if not usable:
            state = UserState.DISABLED
        elif expires_at is not None and expires_at <= dt.datetime.now(dt.UTC):
            state = UserState.EXPIRED
        else:
            state = UserState.ACTIVE
        subscription_url = None
        if self._playlist_url is not None:
            query = {"username": username, "password": password, "type": "m3u_plus"}
            subscription_url = f"{self._playlist_url}/get.php?{urlencode(query)}&output=ts"
        return PanelUser(
            username=username,
            external_id=str(row["id"]),
            state=state,
            expires_at=expires_at,
            online=online,
            reference=wire.first_line(row.get(self._note_field)),
            subscription_url=subscription_url,
            credentials={"username": username, "password": password},
        )
