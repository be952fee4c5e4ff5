"""A panel of the operator's own: signed JSON calls to one HTTPS endpoint.

For a system the bot has no adapter for, the operator puts a small endpoint in front of
it. This is that endpoint's contract.

Request
-------
Every call is ``POST <endpoint URL>`` with a JSON object body (UTF-8) and these headers::

    Content-Type: application/json
    X-Timestamp: 1767225600                  (unix seconds, when the bot sent it)
    X-Signature: sha256=<64 lower-case hex digits>

The signature is HMAC-SHA256, keyed with the shared secret, over the bytes of
``X-Timestamp``, one ``.``, then the body exactly as received::

    expected = "sha256=" + hmac_sha256(secret, timestamp + "." + raw_body).hexdigest()

Before acting, the endpoint MUST, in this order:

1. compute ``expected`` over the raw body (before any JSON parsing) and compare it with
   ``X-Signature`` in constant time (``hmac.compare_digest``): different or missing,
   refuse with ``bad_signature``;
2. refuse a timestamp more than 300 seconds away from its clock, past or future
   (``stale_timestamp``);
3. refuse a ``request_id`` it has already seen (``replayed``); remembering ids for ten
   minutes is enough, since older requests fail step 2.

Every body has ``request_id`` (32 hex digits, new for every request, retries included)
and ``action``; the other fields depend on the action:

==========  ==========================================================  ===============
action      fields                                                      answer (200)
==========  ==========================================================  ===============
create      ``user``: ``username``, ``expires_at``, ``reference``,      ``user``
            ``data_limit_bytes``, ``template``
extend      ``user_id``, ``expires_at``, ``reset_traffic`` (boolean)    ``user``
suspend     ``user_id``                                                 ``user``
resume      ``user_id``                                                 ``user``
delete      ``user_id``                                                 nothing more
get         ``user_id``                                                 ``user``
find        ``username``                                                ``user``
list        ``cursor`` (null for the first page), ``limit``             ``users``,
                                                                        ``next_cursor``
==========  ==========================================================  ===============

Times are unix seconds (integers, UTC); ``expires_at`` null means never. Amounts of
traffic are bytes; ``data_limit_bytes`` null means unlimited. ``template`` is the plan's
panel settings, passed through as the operator configured them. ``reference`` (e.g.
``order:42``) names the order that made the user: keep it with the user and return it.

- ``create`` makes the user, active until ``expires_at``. When the username is taken,
  answer ``exists`` (409); the bot then runs ``find`` and, when that user's reference is
  the one it sent, takes it as its own (an earlier try whose answer was lost). Answering
  200 with that user directly, when the references match, is also fine.
- ``extend`` sets the expiry to ``expires_at`` (not adds to it) and enables the user;
  with ``reset_traffic`` it zeroes the used traffic. Doing it twice does no harm.
- ``suspend`` disables the user; ``resume`` enables it, expiry unchanged.
- ``list`` returns up to ``limit`` users and an opaque ``next_cursor``, null on the last
  page.

Answer
------
A JSON object. Success is any 2xx with ``"ok": true``, plus ``user`` or ``users`` and
``next_cursor`` as the table says. A user::

    {"id": "u-1041", "username": "alice_01", "state": "active",
     "expires_at": 1767225600, "used_bytes": 0, "data_limit_bytes": null,
     "online": null, "reference": "order:42", "subscription_url": null,
     "credentials": {"password": "..."}}

``id`` (a string) and ``username`` are required, and so is ``reference`` for a user made
through ``create``; ``state`` is one of ``active``, ``disabled``, ``expired``, ``limited``
(traffic used up) or ``on_hold``; the other fields may be left out (no expiry, no
traffic, not known, no link, no credentials).
``credentials`` are strings the customer needs besides the link.

A refusal is a 4xx with ``{"ok": false, "error": {"code": "...", "message": "..."}}``,
and means nothing was changed:

- 401 ``bad_signature``, ``stale_timestamp``, ``replayed``: the request was not trusted;
- 404 ``not_found``: no user with that ``user_id`` or ``username`` (``get`` and ``find``
  read it as "none"; the other actions report it);
- 409 ``exists``: ``create`` of a username that is taken;
- 422 ``invalid`` (or another code): anything else refused, with a message for the admin.

A 5xx, a timeout, or an answer that is not such JSON means the outcome is unknown: the
bot asks again with ``get`` before it decides, and never repeats a write blindly (reads
are retried once, each time as a new, newly signed request). Keep answers under the bot's
timeout (10 seconds unless configured otherwise).

Configuration: ``base_url`` is the endpoint URL; credentials ``{"secret": ...}``;
options ``page_size`` (``limit`` for ``list``, 100).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import httpx

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

log = logging.getLogger(__name__)

READ_ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.2
STATES = {state.value: state for state in UserState}


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Signature`` header for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


class WebhookAdapter:
    name = "webhook"

    def __init__(self, config: PanelConfig, *, client: httpx.AsyncClient | None = None) -> None:
        self.config = config
        self._page_size = int(config.options.get("page_size", 100))
        self._timeout = config.timeout_seconds
        self._client = client or httpx.AsyncClient(timeout=config.timeout_seconds)
        self._owns_client = client is None

    async def create(self, user: NewUser) -> PanelUser:
        fields = {
            "user": {
                "username": user.username,
                "expires_at": _seconds(user.expires_at),
                "reference": user.reference,
                "data_limit_bytes": user.data_limit_bytes,
                "template": dict(user.template),
            }
        }
        try:
            made = _user(await self._call("create", fields))
        except UserExists:
            existing = await self.find(user.username)
            if existing is None or existing.reference != user.reference:
                raise
            return existing
        if made.reference is None:
            # Made, perhaps, but not recognisably by this order: let the caller ask.
            raise PanelUnavailable("webhook create: the answer's user has no reference")
        if made.reference != user.reference:
            # A 200 with another order's user: the endpoint answered with what it has.
            raise UserExists(f"webhook: the username {user.username!r} is another order's")
        return made

    async def extend(
        self, external_id: str, *, expires_at: dt.datetime, reset_traffic: bool = False
    ) -> PanelUser:
        fields = {
            "user_id": external_id,
            "expires_at": _seconds(expires_at),
            "reset_traffic": reset_traffic,
        }
        return _user(await self._call("extend", fields))

    async def suspend(self, external_id: str) -> PanelUser:
        return _user(await self._call("suspend", {"user_id": external_id}))

    async def resume(self, external_id: str) -> PanelUser:
        return _user(await self._call("resume", {"user_id": external_id}))

    async def delete(self, external_id: str) -> None:
        await self._call("delete", {"user_id": external_id})

    async def get(self, external_id: str) -> PanelUser | None:
        try:
            return _user(await self._call("get", {"user_id": external_id}, read=True))
        except UserNotFound:
            return None

    async def find(self, username: str) -> PanelUser | None:
        try:
            return _user(await self._call("find", {"username": username}, read=True))
        except UserNotFound:
            return None

    async def list_users(self) -> AsyncIterator[PanelUser]:
        async with contextlib.aclosing(self._pages()) as users:
            async for user in users:
                yield user

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def _pages(self) -> AsyncGenerator[PanelUser, None]:
        cursor: str | None = None
        seen: set[str | None] = set()
        while True:
            body = await self._call("list", {"cursor": cursor, "limit": self._page_size}, read=True)
            users, cursor = body.get("users"), body.get("next_cursor")
            if not isinstance(users, list) or not isinstance(cursor, str | None):
                raise PanelUnavailable("webhook list: the answer does not follow the contract")
            for entry in users:
                yield _user({"user": entry})
            if cursor is None:
                return
            if cursor in seen:  # an endpoint that loops would keep the bot here forever
                raise PanelUnavailable("webhook list: the endpoint repeated a cursor")
            seen.add(cursor)

    async def _call(
        self, action: str, fields: Mapping[str, Any], *, read: bool = False
    ) -> dict[str, Any]:
        attempts = READ_ATTEMPTS if read else 1
        for attempt in range(1, attempts + 1):
            try:
                return await self._call_once(action, fields)
            except PanelUnavailable:
                if attempt == attempts:
                    raise
                log.info("webhook %s: no usable answer, asking again", action)
                await asyncio.sleep(RETRY_PAUSE_SECONDS)
        raise AssertionError("unreachable")

    async def _call_once(self, action: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        payload = {"request_id": uuid.uuid4().hex, "action": action, **fields}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Timestamp": timestamp,
            "X-Signature": signature(self.config.credentials["secret"], timestamp, body),
        }
        response: httpx.Response | None = None
        failure = ""
        try:
            response = await self._client.post(
                self.config.base_url, content=body, headers=headers, timeout=self._timeout
            )
        except httpx.TimeoutException:
            failure = f"no answer within {self._timeout:g} s"
        except httpx.HTTPError as error:
            failure = f"no answer ({type(error).__name__})"
        if response is None:
            raise PanelUnavailable(f"webhook {action}: {failure}")
        return _answer(action, response)


def _answer(action: str, response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status >= 500:
        raise PanelUnavailable(f"webhook {action}: HTTP {status}", status=status)
    try:
        body = response.json()
    except ValueError:
        body = None
    if 200 <= status < 300:
        if not isinstance(body, dict) or body.get("ok") is not True:
            raise PanelUnavailable(f"webhook {action}: the answer does not follow the contract")
        log.debug("webhook %s: ok", action)
        return body
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    detail = f"webhook {action} refused: HTTP {status}"
    if isinstance(code, str):
        detail += f" {code}"
    if isinstance(message, str) and message:
        detail += f": {message[:200]}"
    log.info("%s", detail)
    # Only the contract's own codes say "not found" or "exists": a bare 404 is a wrong URL.
    if status == 401 or (status == 403 and code is None):
        raise PanelAuthFailed(detail, status=status)
    if code == "not_found":
        raise UserNotFound(detail, status=status)
    if code == "exists":
        raise UserExists(detail, status=status)
    raise PanelRejected(detail, status=status)


def _user(body: Mapping[str, Any]) -> PanelUser:
    """The ``user`` of an answer, checked against the contract."""
    user = body.get("user")
    try:
        if not isinstance(user, dict):
            raise TypeError("user")
        credentials = user.get("credentials") or {}
        if not all(isinstance(v, str) for v in credentials.values()):
            raise TypeError("credentials")
        return PanelUser(
            username=_typed(user, "username", str, required=True),
            external_id=_typed(user, "id", str, required=True),
            state=STATES[user.get("state", "active")],
            expires_at=_moment(_typed(user, "expires_at", int)),
            used_bytes=_typed(user, "used_bytes", int) or 0,
            data_limit_bytes=_typed(user, "data_limit_bytes", int),
            online=_typed(user, "online", bool),
            reference=_typed(user, "reference", str),
            subscription_url=_typed(user, "subscription_url", str),
            credentials=dict(credentials),
        )
    except (AttributeError, KeyError, TypeError) as error:
        raise PanelUnavailable(
            f"webhook: a user in the answer does not follow the contract ({error})"
        ) from None


def _typed(user: Mapping[str, Any], key: str, kind: type, *, required: bool = False) -> Any:
    value = user.get(key)
    if value is None and not required:
        return None
    # bool is an int in Python; the contract keeps them apart.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TypeError(key)
    return value


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def _moment(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)
