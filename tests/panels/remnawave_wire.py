"""The fake Remnawave's wire shapes, from backend contract 3.4: the user object it sends,
its error bodies, and the request schemas it checks.

The real backend validates bodies, paths and queries with the contract's zod schemas and
answers 400 ``{"statusCode": 400, "message": "Validation failed", "errors": [issues]}``.
Only the fields the fake stores are checked; like zod's objects, unknown keys are dropped.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

USERNAME = re.compile(r"[a-zA-Z0-9_-]+")
# z.iso.datetime({offset: true, local: true}): the offset may be Z, +hh:mm, or absent.
ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?")
STATUSES = ("ACTIVE", "DISABLED", "LIMITED", "EXPIRED")
STRATEGIES = ("NO_RESET", "DAY", "WEEK", "MONTH", "MONTH_ROLLING")
SUB_DOMAIN = "sub.panel.test"


def js_time(moment: dt.datetime | None) -> str | None:
    """How the backend's JSON writes a Date."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class FakeUser:
    id: int
    username: str
    status: str
    expire_at: dt.datetime
    traffic_limit_bytes: int = 0
    traffic_limit_strategy: str = "NO_RESET"
    description: str | None = None
    squads: list[str] = field(default_factory=list)
    used: int = 0
    lifetime_used: int = 0
    online_at: dt.datetime | None = None
    last_traffic_reset_at: dt.datetime | None = None
    hwid_device_limit: int | None = None
    external_squad_uuid: str | None = None
    short_uuid: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    vless_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    created_at: dt.datetime = field(default_factory=now)
    updated_at: dt.datetime = field(default_factory=now)

    def wire(self, squads: dict[str, str]) -> dict[str, Any]:
        """``ExtendedUsersSchema``, as ``GetFullUserResponseModel`` writes it."""
        return {
            "id": self.id,
            "shortUuid": self.short_uuid,
            "username": self.username,
            "status": self.status,
            "trafficLimitBytes": self.traffic_limit_bytes,
            "trafficLimitStrategy": self.traffic_limit_strategy,
            "expireAt": js_time(self.expire_at),
            "telegramId": None,
            "email": None,
            "description": self.description,
            "tag": None,
            "hwidDeviceLimit": self.hwid_device_limit,
            "externalSquadUuid": self.external_squad_uuid,
            "trojanPassword": "trojan-password",
            "vlessUuid": self.vless_uuid,
            "ssPassword": "ss-password",
            "lastTriggeredThreshold": 0,
            "subRevokedAt": None,
            "lastTrafficResetAt": js_time(self.last_traffic_reset_at),
            "createdAt": js_time(self.created_at),
            "updatedAt": js_time(self.updated_at),
            "subscriptionUrl": f"https://{SUB_DOMAIN}/{self.short_uuid}",
            "activeInternalSquads": [{"uuid": s, "name": squads[s]} for s in self.squads],
            "userTraffic": {
                "usedTrafficBytes": self.used,
                "lifetimeUsedTrafficBytes": self.lifetime_used,
                "onlineAt": js_time(self.online_at),
                "firstConnectedAt": js_time(self.online_at),
                "lastConnectedNodeUuid": None,
            },
        }


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


ERRORS = {
    "A001": (500, "Server error"),
    "A018": (500, "Failed to create user"),
    "A019": (400, "User username already exists"),
    "A025": (404, "User not found"),
    "A029": (400, "User already disabled"),
    "A030": (400, "User already enabled"),
    "A063": (404, "User with specified params not found"),
}


class Refusal(Exception):
    def __init__(self, response: web.Response) -> None:
        self.response = response


def coded(code: str, path: str) -> Refusal:
    """An ``HttpExceptionWithErrorCodeType`` as the backend's filter writes it."""
    status, message = ERRORS[code]
    body = {"timestamp": js_time(now()), "path": path, "message": message, "errorCode": code}
    return Refusal(web.json_response(body, status=status))


def nest(status: int, message: str, error: str | None = None) -> web.Response:
    """Nest's own error body (guards, unknown routes)."""
    body: dict[str, Any] = {"message": message, "statusCode": status}
    if error:
        body = {"message": message, "error": error, "statusCode": status}
    return web.json_response(body, status=status)


class Invalid(Exception):
    def __init__(self, path: str, message: str, code: str = "custom") -> None:
        super().__init__(message)
        self.issue = {"code": code, "path": [path], "message": message}

    def body(self) -> dict[str, Any]:
        return {"statusCode": 400, "message": "Validation failed", "errors": [self.issue]}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _datetime(value: Any, path: str) -> dt.datetime:
    if not isinstance(value, str) or not ISO.fullmatch(value):
        raise Invalid(path, "Invalid ISO datetime", "invalid_format")
    moment = dt.datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # the backend runs in UTC
    return moment.astimezone(dt.UTC)


def _uuids(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise Invalid(path, "Invalid input: expected array", "invalid_type")
    for item in value:
        try:
            uuid.UUID(str(item))
        except ValueError:
            raise Invalid(path, "Invalid UUID", "invalid_format") from None
    return list(value)


def _limit(body: Mapping[str, Any], out: dict[str, Any]) -> None:
    if "trafficLimitBytes" in body:
        limit = body["trafficLimitBytes"]
        if not _is_number(limit) or limit < 0:
            raise Invalid("trafficLimitBytes", "Traffic limit must be greater than 0")
        out["trafficLimitBytes"] = limit


def check_create(body: Any) -> dict[str, Any]:
    """CreateUserCommand.RequestBodySchema."""
    if not isinstance(body, dict):
        raise Invalid("", "Invalid input: expected object", "invalid_type")
    name = body.get("username")
    if not isinstance(name, str) or not USERNAME.fullmatch(name):
        raise Invalid(
            "username", "Username can only contain letters, numbers, underscores and dashes"
        )
    if not 3 <= len(name) <= 36:
        raise Invalid("username", "Username must be 3-36 characters")
    out: dict[str, Any] = {
        "username": name,
        "expireAt": _datetime(body.get("expireAt"), "expireAt"),
    }
    _limit(body, out)
    if body.get("status") is not None:
        if body["status"] not in STATUSES:
            raise Invalid("status", "Invalid option", "invalid_value")
        out["status"] = body["status"]
    if body.get("trafficLimitStrategy") is not None:
        if body["trafficLimitStrategy"] not in STRATEGIES:
            raise Invalid("trafficLimitStrategy", "Invalid option", "invalid_value")
        out["trafficLimitStrategy"] = body["trafficLimitStrategy"]
    if "description" in body:
        if not isinstance(body["description"], str):
            raise Invalid("description", "Invalid input: expected string", "invalid_type")
        out["description"] = body["description"]
    if "activeInternalSquads" in body:
        out["activeInternalSquads"] = _uuids(body["activeInternalSquads"], "activeInternalSquads")
    if body.get("hwidDeviceLimit") is not None:
        limit = body["hwidDeviceLimit"]
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise Invalid("hwidDeviceLimit", "Invalid input: expected int", "invalid_type")
        out["hwidDeviceLimit"] = limit
    if body.get("externalSquadUuid") is not None:
        out["externalSquadUuid"] = _uuids([body["externalSquadUuid"]], "externalSquadUuid")[0]
    return out


def check_update(body: Any, now: dt.datetime) -> dict[str, Any]:
    """UpdateUserCommand.RequestBodySchema: by ``id`` or ``username``; expireAt in the future."""
    if not isinstance(body, dict):
        raise Invalid("", "Invalid input: expected object", "invalid_type")
    out: dict[str, Any] = {}
    if body.get("username") is not None:
        if not isinstance(body["username"], str):
            raise Invalid("username", "Invalid input: expected string", "invalid_type")
        out["username"] = body["username"]
    if body.get("id") is not None:
        if not _is_number(body["id"]):
            raise Invalid("id", "Invalid input: expected number", "invalid_type")
        out["id"] = body["id"]
    if not out.get("username") and not out.get("id"):
        raise Invalid("", "At least one of username, id must be provided")
    if body.get("status") is not None:
        if body["status"] not in ("ACTIVE", "DISABLED"):
            raise Invalid("status", "Invalid option", "invalid_value")
        out["status"] = body["status"]
    _limit(body, out)
    if body.get("expireAt") is not None:
        expire_at = _datetime(body["expireAt"], "expireAt")
        if expire_at <= now:
            raise Invalid("expireAt", "Expiration date cannot be in the past")
        out["expireAt"] = expire_at
    if "description" in body:
        if body["description"] is not None and not isinstance(body["description"], str):
            raise Invalid("description", "Invalid input: expected string", "invalid_type")
        out["description"] = body["description"]
    if "activeInternalSquads" in body:
        out["activeInternalSquads"] = _uuids(body["activeInternalSquads"], "activeInternalSquads")
    return out


def positive_number(value: Any, path: str) -> float:
    """z.coerce.number().positive(), as the contract checks ``userId`` and ``days``."""
    try:
        number = float(value) if value not in (None, "") else 0.0
    except (TypeError, ValueError):
        raise Invalid(
            path, "Invalid input: expected number, received NaN", "invalid_type"
        ) from None
    if number != number or number <= 0:
        raise Invalid(path, "Too small: expected number to be >0", "too_small")
    return number


def size_and_start(query: Mapping[str, str]) -> tuple[int, int, bool]:
    """TanstackQueryRequestQuerySchema: start (default 0), size 1..1000 (default 25),
    sorting as JSON; without sorting the panel lists the newest user first."""
    try:
        start = int(query.get("start", "0"))
        size = int(query.get("size", "25"))
    except ValueError:
        raise Invalid("size", "Invalid input: expected number", "invalid_type") from None
    if not 1 <= size <= 1000:
        raise Invalid("size", "Size (limit) must be between 1 and 1000", "too_big")
    descending = True
    if "sorting" in query:
        try:
            sorting = json.loads(query["sorting"])
        except ValueError:
            raise Invalid("sorting", "Invalid JSON", "invalid_type") from None
        for sort in sorting if isinstance(sorting, list) else []:
            if isinstance(sort, dict) and sort.get("id") in ("id", "createdAt"):
                descending = bool(sort.get("desc"))
    return max(start, 0), size, descending
