"""A fake XUI.one admin API, answering as the panel's own code does (XUI.one 1.5.x, and
its open fork XC_VM, ``includes/api/admin``).

What it keeps from the real panel, because the adapter depends on it:

- ``{base}/{access_code}/`` only; another path is the web server's HTML 404.
- Parameters are the query and the form merged, the form winning; ``k[]`` makes a list
  and ``k[sub]`` a nested map, as PHP parses them.
- HTTP 200 and ``{"status": ..., "data": ...}`` for every answer, ``Invalid API key.`` and
  ``Invalid action.`` errors, a bare ``STATUS_FAILURE`` for a line id that is not there.
- ``create_line``/``edit_line`` run the panel's line processing: ``bouquets_selected`` must
  be a JSON list in one string (anything else is a PHP fatal error, HTTP 500);
  ``exp_date`` goes through a ``DateTime``-like parser (``@seconds`` or a date: a bare
  number is ``STATUS_INVALID_DATE``); flags count when present; an edit resets what it
  does not resend; usernames are unique regardless of case.
- Rows come back as MySQL gives them to PHP: numbers as strings, JSON lists as text.
- ``get_lines`` pages with ``start``/``limit`` (default 50) and ``search[value]`` matches
  username, password and notes; its rows are the table's columns, without ``bouquet``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from multidict import MultiMapping

from bot.adapters.panels.base import NewUser, PanelAdapter, PanelConfig
from bot.adapters.panels.xuione import XuiOneAdapter
from tests.panels.harness import StoredUser

SUCCESS = "STATUS_SUCCESS"
FAILURE = "STATUS_FAILURE"
FLAGS = ("is_trial", "is_restreamer", "is_isplock", "is_stalker", "bypass_ua")
# Columns the edit path copies from the request over the stored line (overwriteData).
COLUMNS = {
    "member_id", "username", "password", "exp_date", "admin_notes", "reseller_notes",
    "contact", "force_server_id", "forced_country", "access_token",
}  # fmt: skip
# What get_lines selects: the list view's columns.
TABLE_COLUMNS = (
    "id", "member_id", "username", "password", "exp_date", "admin_enabled", "is_restreamer",
    "enabled", "admin_notes", "reseller_notes", "max_connections", "is_trial",
)  # fmt: skip
GARBAGE = '<br />\n<b>Warning</b>:  Undefined array key "id" in <b>index.php</b><br />\n'
HTML_ERROR = (
    "<html><head><title>{0}</title></head><body><center><h1>{0}</h1></center></body></html>"
)


def php_params(query: MultiMapping[str], form: MultiMapping[Any]) -> dict[str, Any]:
    """Query then form, as PHP fills $_GET and $_POST and the panel merges them."""
    merged: dict[str, Any] = {}
    for source in (query, form):
        parsed: dict[str, Any] = {}
        for key, value in source.items():
            value = str(value)
            if key.endswith("[]"):
                parsed.setdefault(key[:-2], []).append(value)
            elif (match := re.fullmatch(r"(\w+)\[(\w+)\]", key)) is not None:
                parsed.setdefault(match[1], {})[match[2]] = value
            else:
                parsed[key] = value
        merged.update(parsed)
    return merged


def php_datetime(value: str) -> int | None:
    """Unix seconds for the ``exp_date`` forms PHP's DateTime takes, None where it throws."""
    if (match := re.fullmatch(r"@(-?\d+)", value)) is not None:
        return int(match[1])
    for pattern in ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"):
        try:
            moment = dt.datetime.strptime(value, pattern)
        except ValueError:
            continue
        return int(moment.replace(tzinfo=dt.UTC).timestamp())  # the admin's zone: UTC
    return None


def php_int(value: Any) -> int:
    match = re.match(r"\s*-?\d+", str(value))
    return int(match[0]) if match else 0


def random_string(length: int = 10) -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(length))


def to_wire(row: Mapping[str, Any]) -> dict[str, Any]:
    return {key: None if value is None else str(value) for key, value in row.items()}


class FakeXuiOne:
    def __init__(self, *, api_key: str, access_code: str) -> None:
        self.api_key = api_key
        self.access_code = access_code
        self.lines: dict[int, dict[str, Any]] = {}
        self.packages: dict[int, dict[str, Any]] = {}
        self.ids = itertools.count(1)
        # What arrived, for assertions: (action, parameters without the key), and where
        # the key came: "query" or "form".
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.key_sources: list[str] = []
        self.urls: list[str] = []
        self._fail: list[int] = []
        self._garbage = 0
        self._hang: list[float] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{code}/", self._handle)
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

    def add_line(self, **fields: Any) -> dict[str, Any]:
        line_id = next(self.ids)
        line: dict[str, Any] = {
            "id": line_id, "member_id": 1, "username": random_string(), "password": random_string(),
            "last_ip": None, "exp_date": None, "admin_enabled": 1, "enabled": 1,
            "admin_notes": "", "reseller_notes": "", "bouquet": "[]", "allowed_outputs": "[]",
            "max_connections": 1, "is_restreamer": 0, "allowed_ips": "[]", "allowed_ua": "[]",
            "is_trial": 0, "created_at": int(time.time()), "pair_id": None, "is_mag": 0,
            "is_e2": 0, "force_server_id": 0, "is_isplock": 0, "isp_desc": "", "as_number": None,
            "forced_country": "", "is_stalker": 0, "bypass_ua": 0, "contact": "",
            "access_token": None, "package_id": None,
        }  # fmt: skip
        line.update(fields, id=line_id)
        self.lines[line_id] = line
        return line

    def add_package(self, **fields: Any) -> dict[str, Any]:
        package_id = int(fields.pop("id"))
        package: dict[str, Any] = {
            "id": package_id, "package_name": f"Package {package_id}", "is_trial": 0,
            "is_official": 1, "trial_credits": 0, "official_credits": 1, "trial_duration": 0,
            "trial_duration_in": "day", "official_duration": 1, "official_duration_in": "month",
            "groups": "[1]", "bouquets": "[]", "max_connections": 1, "is_line": 1, "is_mag": 0,
            "is_e2": 0, "is_restreamer": 0, "is_isplock": 0, "output_formats": "[1,2,3]",
        }  # fmt: skip
        package.update(fields)
        self.packages[package_id] = package
        return package

    def by_username(self, username: str) -> dict[str, Any] | None:
        return next((line for line in self.lines.values() if line["username"] == username), None)

    def actions(self) -> list[str]:
        return [action for action, _ in self.calls]

    # --- the API --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["code"] != self.access_code:
            return web.Response(status=404, text=HTML_ERROR.format("404 Not Found"))
        if self._fail:
            status = self._fail.pop(0)
            return web.Response(status=status, text=HTML_ERROR.format(f"{status} Error"))
        if self._garbage:
            self._garbage -= 1
            return web.Response(text=GARBAGE, content_type="text/html")
        params = php_params(request.query, await request.post())
        self.urls.append(str(request.url))
        self.key_sources.append("form" if "api_key" in await request.post() else "query")
        if params.get("api_key") != self.api_key:
            answer: Any = {"status": FAILURE, "error": "Invalid API key."}
        else:
            action = str(params.get("action", ""))
            data = {k: v for k, v in params.items() if k not in ("api_key", "action")}
            self.calls.append((action, dict(data)))
            answer = self._act(action, data)
        if self._hang:  # the work is done; only the answer is late
            await asyncio.sleep(self._hang.pop(0))
        if isinstance(answer, web.Response):
            return answer
        return web.json_response(answer)

    def _act(self, action: str, data: dict[str, Any]) -> Any:
        start, limit = php_int(data.pop("start", 0)), php_int(data.pop("limit", 0)) or 50
        line = self.lines.get(php_int(data.get("id", 0)))
        if action == "get_lines":
            return self._table(data, start, limit)
        if action == "get_packages":
            return {
                "status": SUCCESS,
                "data": {str(k): to_wire(p) for k, p in self.packages.items()},
            }
        if action == "create_line":
            data.pop("edit", None)
            return self._process_line(data, None)
        if action not in {"get_line", "edit_line", "delete_line", "enable_line", "disable_line"}:
            return {"status": FAILURE, "error": "Invalid action."}
        if line is None:
            return {"status": FAILURE}
        if action == "get_line":
            return {"status": SUCCESS, "data": to_wire(line)}
        if action == "edit_line":
            del data["id"]
            return self._process_line(data, line)
        if action == "delete_line":
            del self.lines[line["id"]]
        else:
            line["enabled"] = 1 if action == "enable_line" else 0
        return {"status": SUCCESS}

    def _process_line(self, data: dict[str, Any], line: dict[str, Any] | None) -> Any:
        row = dict(line) if line is not None else {}
        row.update({key: value for key, value in data.items() if key in COLUMNS})
        if not data.get("username"):
            row["username"] = random_string()
        if not data.get("password"):
            row["password"] = random_string()
        for key in ("max_connections", "enabled", "admin_enabled"):
            row[key] = php_int(data[key]) if key in data else 1
        for flag in FLAGS:
            row[flag] = 1 if flag in data else 0
        try:
            bouquets = json.loads(data["bouquets_selected"])
            row["bouquet"] = json.dumps([int(b) for b in bouquets], separators=(",", ":"))
        except (KeyError, TypeError, ValueError):
            return web.Response(status=500)  # PHP: array_values() on a non-array, fatal
        if "exp_date" in data and "no_expire" not in data:
            row["exp_date"] = None
            if data["exp_date"] and data["exp_date"] != "1970-01-01":
                row["exp_date"] = php_datetime(data["exp_date"])
                if row["exp_date"] is None:
                    return {"status": "STATUS_INVALID_DATE", "data": data}
        else:
            row["exp_date"] = None
        for field in ("allowed_ips", "allowed_ua"):
            values = data.get(field, [])
            row[field] = json.dumps(values if isinstance(values, list) else [values])
        outputs = data.get("access_output", [])
        row["allowed_outputs"] = json.dumps([php_int(v) for v in outputs], separators=(",", ":"))
        row["isp_desc"], row["as_number"] = "", None  # isp_clear is always empty via the API
        taken = [
            other
            for other in self.lines.values()
            if other["username"].lower() == row["username"].lower()
            and (line is None or other["id"] != line["id"])
        ]
        if taken:
            return {"status": "STATUS_EXISTS_USERNAME", "data": data}
        if line is None:
            row.pop("id", None)
            saved = self.add_line(**row)
        else:
            line.update(row)
            saved = line
        return {"status": SUCCESS, "data": to_wire(saved)}

    def _table(self, data: dict[str, Any], start: int, limit: int) -> Any:
        search = data.get("search")
        needle = search.get("value", "") if isinstance(search, dict) else ""
        fields = ("username", "password", "reseller_notes", "admin_notes")
        rows = [
            line
            for _, line in sorted(self.lines.items())
            if not needle or any(needle.lower() in str(line[f] or "").lower() for f in fields)
        ]
        page = [
            to_wire({**{c: line[c] for c in TABLE_COLUMNS}, "active_connections": 0})
            for line in rows[start : start + limit]
        ]
        return {
            "status": SUCCESS,
            "data": page,
            "recordsTotal": len(rows),
            "recordsFiltered": min(len(rows), limit),
        }


class XuiOneHarness:
    """The contract suite's handle on the fake; IPTV lines have no traffic to count."""

    name = "xui-one"
    tracks_traffic = False

    def __init__(self, **options: Any) -> None:
        self.fake = FakeXuiOne(api_key=f"xk-{secrets.token_hex(12)}", access_code="Ac0deXy9")
        self.options = {"access_code": self.fake.access_code, "page_size": 10, **options}

    async def start(self) -> PanelAdapter:
        url = await self.fake.start()
        return XuiOneAdapter(self.config(url))

    def config(self, url: str, **credentials: str) -> PanelConfig:
        return PanelConfig(
            base_url=url,
            credentials=credentials or {"api_key": self.fake.api_key},
            timeout_seconds=0.5,
            options=self.options,
        )

    async def stop(self) -> None:
        await self.fake.stop()

    def template(self) -> dict[str, Any]:
        return {"bouquets": [1, 4], "max_connections": 2}

    def stored(self, username: str) -> StoredUser | None:
        line = self.fake.by_username(username)
        if line is None:
            return None
        expires = line["exp_date"]
        return StoredUser(
            username=line["username"],
            enabled=bool(line["enabled"] and line["admin_enabled"]),
            expires_at=dt.datetime.fromtimestamp(expires, dt.UTC) if expires else None,
            data_limit_bytes=None,
            used_bytes=0,
            note=line["admin_notes"] or None,
        )

    def login_count(self) -> int:
        return 0  # a static API key: no session

    def seed(self, user: NewUser, *, note: str | None) -> None:
        self.fake.add_line(
            username=user.username,
            exp_date=int(user.expires_at.timestamp()),
            bouquet=json.dumps(user.template.get("bouquets", [])),
            max_connections=user.template.get("max_connections", 1),
            admin_notes=note or "",
        )

    def set_used(self, username: str, used_bytes: int) -> None:
        """Nothing to set: an IPTV line counts connections, not bytes."""

    def expire_auth(self) -> None:
        """Nothing expires: the API key is static until an admin replaces it."""

    def fail_next(self, status: int, times: int = 1) -> None:
        self.fake.fail_next(status, times)

    def garbage_next(self, times: int = 1) -> None:
        self.fake.garbage_next(times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        self.fake.hang_next(seconds, times)
