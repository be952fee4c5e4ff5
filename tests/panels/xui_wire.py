"""The 3x-ui client as JSON: its fields, their zero values, and how Go decodes them.

From ``internal/database/model/model.go`` (``Client``, ``ClientRecord``, ``ToRecord``):
the body of add/update is a ``Client`` (its ``id`` is the UUID, ``allowedIPs`` a list);
``get`` returns a ``ClientRecord`` (``id`` the row number, ``uuid``, ``allowedIPs``
comma-joined). Go's decoder ignores unknown keys and null, and refuses a value of the
wrong JSON type, which the handlers answer as a refusal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

# model.Client's JSON fields and the JSON types Go's decoder accepts for them.
_STR, _INT, _BOOL = (str,), (int,), (bool,)
CLIENT_FIELDS: dict[str, tuple[type, ...]] = {
    "id": _STR, "security": _STR, "password": _STR, "flow": _STR, "reverse": (dict,),
    "auth": _STR, "privateKey": _STR, "publicKey": _STR, "allowedIPs": (list,),
    "preSharedKey": _STR, "keepAlive": _INT, "secret": _STR, "adTag": _STR, "email": _STR,
    "limitIp": _INT, "totalGB": _INT, "expiryTime": _INT, "enable": _BOOL, "tgId": _INT,
    "subId": _STR, "group": _STR, "comment": _STR, "reset": _INT, "resetDay": _INT,
    "resetMax": _INT, "trafficReset": _STR, "trafficResetDay": _INT, "created_at": _INT,
    "updated_at": _INT, "limitHwid": _INT,
}  # fmt: skip
# What /get returns for a client record (model.ClientRecord), with its zero values.
RECORD_ZERO: dict[str, Any] = {
    "email": "", "subId": "", "uuid": "", "password": "", "auth": "", "flow": "",
    "security": "", "reverse": None, "privateKey": "", "publicKey": "", "allowedIPs": "",
    "preSharedKey": "", "keepAlive": 0, "secret": "", "adTag": "", "limitIp": 0,
    "limitHwid": 0, "totalGB": 0, "expiryTime": 0, "enable": True, "tgId": 0, "group": "",
    "comment": "", "reset": 0, "resetDay": 0, "resetMax": 0, "trafficReset": "never",
    "trafficResetDay": 1,
}  # fmt: skip


class Refused(Exception):
    """A handler's error: answered 200 with success false."""


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def to_ms(when: dt.datetime) -> int:
    return round(when.timestamp() * 1000)


def from_ms(ms: int) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC) if ms > 0 else None


def decode_client(body: Any) -> dict[str, Any]:
    """Go's decoding of a model.Client: unknown keys ignored, wrong JSON types refused."""
    if not isinstance(body, dict):
        raise Refused("json: cannot unmarshal into Go value of type model.Client")
    out: dict[str, Any] = {}
    for key, value in body.items():
        kinds = CLIENT_FIELDS.get(key)
        if kinds is None or value is None:
            continue
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if wrong_bool or not isinstance(value, kinds):
            what = type(value).__name__
            raise Refused(f"json: cannot unmarshal {what} into Go struct field Client.{key}")
        out[key] = value
    return out


def to_record(client: dict[str, Any]) -> dict[str, Any]:
    """model.Client to the stored record (Client.ToRecord)."""
    record = dict(RECORD_ZERO)
    for key, value in client.items():
        if key == "id":
            record["uuid"] = value
        elif key == "allowedIPs":
            record["allowedIPs"] = ",".join(value)
        elif key in record:
            record[key] = value
    if not record["trafficReset"]:
        record["trafficReset"] = "never"
    return record
