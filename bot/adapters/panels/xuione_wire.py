"""XUI.one admin API shapes: status names, line rows and the edit form (see ``xuione``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.adapters.panels.base import PanelRejected, PanelUnavailable, UserNotFound

SUCCESS = "STATUS_SUCCESS"
FAILURE = "STATUS_FAILURE"
EXISTS_USERNAME = "STATUS_EXISTS_USERNAME"
BAD_KEY = "Invalid API key."
# Set by presence on create and edit; cleared by absence on edit.
FLAGS = ("is_trial", "is_restreamer", "is_isplock", "is_stalker", "bypass_ua")
# Row field holding a JSON list -> the form field that sets it, one value per entry.
LIST_FIELDS = {
    "allowed_ips": "allowed_ips[]",
    "allowed_ua": "allowed_ua[]",
    "allowed_outputs": "access_output[]",
}

Row = Mapping[str, Any]
Form = dict[str, str | list[str]]


def whole_line(row: Row) -> Form:
    """An edit_line form that keeps everything the panel would otherwise reset."""
    form: Form = {
        "username": str(row["username"]),
        "password": str(row["password"]),
        "max_connections": str(number(row.get("max_connections"), 1)),
        "admin_enabled": str(number(row.get("admin_enabled"), 1)),
        "bouquets_selected": json.dumps([int(b) for b in json_list(row.get("bouquet"))]),
    }
    for flag in FLAGS:
        if number(row.get(flag), 0):
            form[flag] = "1"
    for field, key in LIST_FIELDS.items():
        values = [str(value) for value in json_list(row.get(field))]
        if values:
            form[key] = values
    return form


def check_line_action(action: str, body: Mapping[str, Any], external_id: str) -> None:
    if body["status"] == SUCCESS:
        return
    if is_bare_failure(body):
        raise UserNotFound(f"xui-one: no line {external_id}")
    raise refused(action, body)


def is_bare_failure(body: Mapping[str, Any]) -> bool:
    """The panel's answer to an action on a line id it does not have."""
    return body["status"] == FAILURE and "error" not in body and "data" not in body


def refused(action: str, body: Mapping[str, Any]) -> PanelRejected:
    error = body.get("error")
    detail = f" ({error})" if isinstance(error, str) and error else ""
    return PanelRejected(f"xui-one {action} refused: {body['status']}{detail}")


def line_of(body: Mapping[str, Any], action: str) -> Row:
    data = body.get("data")
    if not isinstance(data, dict) or "id" not in data:
        raise PanelUnavailable(f"xui-one {action}: success without the line")
    return data


def number(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    return int(value)


def json_list(value: Any) -> list[Any]:
    """A list the panel keeps as JSON text ("[1,2]"), or already decoded."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else []
        except ValueError:
            return []
    return list(value) if isinstance(value, list) else []


def first_line(note: Any) -> str | None:
    if not isinstance(note, str):
        return None
    for line in note.splitlines():
        if line.strip():
            return line.strip()
    return None
