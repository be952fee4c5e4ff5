"""Users on the fake Marzban/PasarGuard: validation, updates and answers, per flavour.

The rules follow each panel's ``UserCreate``/``UserModify`` models and its ``crud``
update functions (Marzban 0.8.4 ``app/db/crud.py``; PasarGuard 5.x
``app/db/crud/user.py``), including how a status follows from a new expiry or limit.
A rule that refuses answers ``(status, detail)`` for the server to send.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

Refusal = tuple[int, Any]
STRATEGIES = {"no_reset", "day", "week", "month", "year"}
MODIFY_STATUSES = {"active", "disabled", "on_hold"}
# The fake core's inbounds, by protocol; trojan and shadowsocks are not enabled.
INBOUNDS = {"vless": ["VLESS TCP REALITY", "VLESS GRPC REALITY"], "vmess": ["VMess TCP"]}
PROXY_TYPES = {"vmess", "vless", "trojan", "shadowsocks"}
GROUPS = {1: "default", 2: "premium"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class FakeUser:
    username: str
    status: str = "active"
    expire: dt.datetime | None = None
    data_limit: int | None = None
    reset_strategy: str = "no_reset"
    note: str | None = None
    used_traffic: int = 0
    lifetime_used: int = 0
    proxies: dict[str, Any] = field(default_factory=dict)
    inbounds: dict[str, list[str]] = field(default_factory=dict)
    group_ids: list[int] = field(default_factory=list)
    proxy_settings: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=now)
    online_at: dt.datetime | None = None
    id: int = 0
    sub_token: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    def sort_key(self, name: str) -> tuple[bool, Any]:
        value = getattr(self, name)
        return (value is None, value if value is not None else 0)

    def review(self) -> None:
        """What the panels' scheduled review does to an active user past a limit."""
        if self.status != "active":
            return
        if self.expire is not None and self.expire <= now():
            self.status = "expired"
        elif self.data_limit and self.used_traffic >= self.data_limit:
            self.status = "limited"


def _limit(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 0)


def _note(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= 500)


class UserRules:
    case_insensitive = False
    create_status = 200

    # --- per flavour ---------------------------------------------------------------

    def username_error(self, username: str) -> str | None:
        raise NotImplementedError

    def expire(self, value: Any) -> dt.datetime | str | None:
        """The expiry asked for, or an error message."""
        raise NotImplementedError

    def placement(self, body: dict[str, Any], user: FakeUser, *, creating: bool) -> Refusal | None:
        raise NotImplementedError

    def enable(self, user: FakeUser) -> None:
        user.status = "active"

    def reset(self, user: FakeUser) -> None:
        raise NotImplementedError

    def render(self, user: FakeUser, *, subscription_url: str) -> dict[str, Any]:
        raise NotImplementedError

    # --- shared ----------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> FakeUser | Refusal:
        errors: dict[str, str] = {}
        username = body.get("username")
        if not isinstance(username, str):
            errors["username"] = "Field required"
        elif (problem := self.username_error(username)) is not None:
            errors["username"] = problem
        expire = self.expire(body.get("expire"))
        if isinstance(expire, str):
            errors["expire"] = expire
        self._common_errors(body, errors, statuses={"active", "on_hold"})
        if errors:
            return 422, errors
        assert isinstance(username, str) and not isinstance(expire, str)
        user = FakeUser(
            username=username,
            status=body.get("status") or "active",
            expire=expire,
            data_limit=body.get("data_limit") or None,
            reset_strategy=body.get("data_limit_reset_strategy") or "no_reset",
            note=body.get("note") or None,
        )
        refused = self.placement(body, user, creating=True)
        return refused if refused is not None else user

    def modify(self, user: FakeUser, body: dict[str, Any]) -> Refusal | None:
        errors: dict[str, str] = {}
        expire = self.expire(body.get("expire"))
        if isinstance(expire, str):
            errors["expire"] = expire
        self._common_errors(body, errors, statuses=MODIFY_STATUSES)
        if errors:
            return 422, errors
        refused = self.placement(body, user, creating=False)
        if refused is not None:
            return refused
        status, data_limit = body.get("status"), body.get("data_limit")
        if status == "active" and user.status == "disabled":
            self.enable(user)
        elif status is not None:
            user.status = status
        if data_limit is not None:
            user.data_limit = data_limit or None
            if user.status not in ("expired", "disabled"):
                if not user.data_limit or user.used_traffic < user.data_limit:
                    user.status = "on_hold" if user.status == "on_hold" else "active"
                else:
                    user.status = "limited"
        if body.get("expire") is not None and not isinstance(expire, str):
            user.expire = expire
            if user.status in ("active", "expired"):
                user.status = "active" if expire is None or expire > now() else "expired"
        if body.get("note") is not None:
            user.note = body["note"] or None
        if body.get("data_limit_reset_strategy") is not None:
            user.reset_strategy = body["data_limit_reset_strategy"]
        return None

    def _common_errors(
        self, body: dict[str, Any], errors: dict[str, str], *, statuses: set[str]
    ) -> None:
        if not _limit(body.get("data_limit")):
            errors["data_limit"] = "Input should be greater than or equal to 0"
        if body.get("data_limit_reset_strategy") not in (None, *STRATEGIES):
            errors["data_limit_reset_strategy"] = "Input should be 'no_reset', 'day', 'week', ..."
        if not _note(body.get("note")):
            errors["note"] = "String should have at most 500 characters"
        status = body.get("status")
        if status is not None and status not in statuses:
            errors["status"] = f"Input should be {' or '.join(sorted(statuses))}"
        elif status == "on_hold" and not body.get("on_hold_expire_duration"):
            errors["status"] = "User cannot be on hold without a valid on_hold_expire_duration."


class MarzbanRules(UserRules):
    case_insensitive = True  # the username column's collation is NOCASE
    create_status = 200
    USERNAME = re.compile(r"^(?=\w{3,32}\b)[a-zA-Z0-9-_@.]+(?:_[a-zA-Z0-9-_@.]+)*$")

    def username_error(self, username: str) -> str | None:
        if self.USERNAME.match(username):
            return None
        return "Value error, Username only can be 3 to 32 characters and contain a-z, 0-9, and underscores in between."  # noqa: E501

    def expire(self, value: Any) -> dt.datetime | str | None:
        if value is None or value == 0:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        return "Input should be a valid integer"

    def placement(self, body: dict[str, Any], user: FakeUser, *, creating: bool) -> Refusal | None:
        proxies, inbounds = body.get("proxies") or {}, body.get("inbounds") or {}
        if creating and not proxies:
            return 422, {"proxies": "Value error, Each user needs at least one proxy"}
        if not isinstance(proxies, dict) or not set(proxies) <= PROXY_TYPES:
            return 422, {"proxies": "Input should be 'vmess', 'vless', 'trojan' or 'shadowsocks'"}
        if not isinstance(inbounds, dict):
            return 422, {"inbounds": "Input should be a valid dictionary"}
        known = {tag for tags in INBOUNDS.values() for tag in tags}
        for tags in inbounds.values():
            for tag in tags:
                if tag not in known:
                    return 422, {"inbounds": f"Value error, Inbound {tag} doesn't exist"}
        for proxy_type in proxies:
            if proxy_type not in INBOUNDS:
                return 400, f"Protocol {proxy_type} is disabled on your server"
        if proxies:
            user.proxies = dict(proxies)
            user.inbounds = {p: list(inbounds.get(p) or INBOUNDS[p]) for p in proxies}
        elif inbounds:
            user.inbounds.update(inbounds)
        return None

    def reset(self, user: FakeUser) -> None:
        user.lifetime_used += user.used_traffic
        user.used_traffic = 0
        # Marzban 0.8's check reads ``status not in (expired or disabled)``, which is a
        # substring test against "expired": a disabled or on-hold user comes back active.
        if user.status not in "expired":
            user.status = "active"

    def render(self, user: FakeUser, *, subscription_url: str) -> dict[str, Any]:
        def naive(moment: dt.datetime | None) -> str | None:
            return moment.astimezone(dt.UTC).replace(tzinfo=None).isoformat() if moment else None

        return {
            "proxies": user.proxies,
            "expire": int(user.expire.timestamp()) if user.expire else None,
            "data_limit": user.data_limit,
            "data_limit_reset_strategy": user.reset_strategy,
            "inbounds": user.inbounds,
            "note": user.note,
            "sub_updated_at": None,
            "sub_last_user_agent": None,
            "online_at": naive(user.online_at),
            "on_hold_expire_duration": None,
            "on_hold_timeout": None,
            "auto_delete_in_days": None,
            "next_plan": None,
            "username": user.username,
            "status": user.status,
            "used_traffic": user.used_traffic,
            "lifetime_used_traffic": user.lifetime_used + user.used_traffic,
            "created_at": naive(user.created_at),
            "links": [],
            "subscription_url": subscription_url,
            "excluded_inbounds": {},
            "admin": {
                "username": "admin",
                "is_sudo": True,
                "telegram_id": None,
                "discord_webhook": None,
                "users_usage": None,
            },
        }


class PasarGuardRules(UserRules):
    case_insensitive = False
    create_status = 201

    def username_error(self, username: str) -> str | None:
        if not 3 <= len(username) <= 128:
            return "Value error, Username only can be 3 to 128 characters."
        if not re.match(r"^[a-zA-Z0-9-_@.]+$", username):
            return "Value error, Username can only contain alphanumeric characters, -, _, @, and ."
        if re.search(r"[-_@.]{2,}", username):
            return "Value error, Username cannot have consecutive special characters"
        return None

    def expire(self, value: Any) -> dt.datetime | str | None:
        if value is None or value == 0:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return dt.datetime.fromtimestamp(value, dt.UTC)
        if isinstance(value, str):
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                return "Input should be a valid datetime"
            return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed
        return "Input should be a valid datetime"

    def placement(self, body: dict[str, Any], user: FakeUser, *, creating: bool) -> Refusal | None:
        group_ids = body.get("group_ids")
        if creating or group_ids is not None:
            if not isinstance(group_ids, list) or not group_ids:
                return 422, {"group_ids": "Value error, you must select at least one group"}
            if any(not isinstance(g, int) or g not in GROUPS for g in group_ids):
                return 404, "Group not found"
            user.group_ids = list(group_ids)
        if isinstance(body.get("proxy_settings"), dict):
            user.proxy_settings = dict(body["proxy_settings"])
        return None

    def enable(self, user: FakeUser) -> None:
        # PasarGuard works out what an enabled user is (its _resolve_enabled_user_status).
        if user.expire is not None and user.expire <= now():
            user.status = "expired"
        elif user.data_limit and user.used_traffic >= user.data_limit:
            user.status = "limited"
        else:
            user.status = "active"

    def reset(self, user: FakeUser) -> None:
        user.lifetime_used += user.used_traffic
        user.used_traffic = 0
        if user.status == "limited":
            user.status = "active"

    def render(self, user: FakeUser, *, subscription_url: str) -> dict[str, Any]:
        def aware(moment: dt.datetime | None) -> str | None:
            return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None

        return {
            "proxy_settings": user.proxy_settings,
            "expire": aware(user.expire),
            "data_limit": user.data_limit,
            "data_limit_reset_strategy": user.reset_strategy,
            "note": user.note,
            "on_hold_expire_duration": None,
            "on_hold_timeout": None,
            "group_ids": user.group_ids,
            "auto_delete_in_days": None,
            "hwid_limit": None,
            "next_plan": None,
            "id": user.id,
            "username": user.username,
            "status": user.status,
            "used_traffic": user.used_traffic,
            "lifetime_used_traffic": user.lifetime_used + user.used_traffic,
            "created_at": aware(user.created_at),
            "edit_at": None,
            "online_at": aware(user.online_at),
            "subscription_url": subscription_url,
            "admin": {"id": 1, "username": "admin"},
        }


def rules_for(flavour: str) -> UserRules:
    rules: dict[str, type[UserRules]] = {"marzban": MarzbanRules, "pasarguard": PasarGuardRules}
    return rules[flavour]()
