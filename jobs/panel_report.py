"""The admins' message for one panel check (see ``bot.services.panel_sync``)."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from bot.i18n import Translator
from bot.settings import Settings
from handlers.pages import fit

CATEGORIES = ("missing", "expired_early", "disabled", "unknown")


def _title(category: str, count: str, t: Translator) -> str:
    if category == "missing":
        return t._("<b>Missing on the panel</b> ({count})", count=count)
    if category == "expired_early":
        return t._("<b>Expired early on the panel</b> ({count})", count=count)
    if category == "disabled":
        return t._("<b>Disabled on the panel</b> ({count})", count=count)
    return t._("<b>On the panel, unknown to the bot</b> ({count})", count=count)


def _day(iso: str | None, settings: Settings, t: Translator) -> str:
    if not iso:
        return t._("never")
    return t.date(dt.datetime.fromisoformat(iso), settings.zone)


def _line(category: str, item: dict[str, Any], settings: Settings, t: Translator) -> str:
    name = t.isolate(escape(item["username"]))
    here, there = _day(item.get("bot"), settings, t), _day(item.get("panel"), settings, t)
    # The panel's own word for a user's state is shown as the panel says it.
    state = t.isolate(escape(item.get("state") or "?"))
    if category == "expired_early":
        return t._(
            "• <code>{name}</code> · panel {there} ({state}), here {here}",
            name=name, there=there, state=state, here=here,
        )  # fmt: skip
    if category == "unknown":
        return t._(
            "• <code>{name}</code> · {state}, expires {there}", name=name, state=state, there=there
        )
    return t._("• <code>{name}</code> · here until {here}", name=name, here=here)


def render(p: dict[str, Any], settings: Settings, t: Translator) -> str:
    panel = t.isolate(escape(p["panel"]))
    if p.get("error"):
        return t._(
            "⚠️ <b>Panel {panel} could not be checked</b>: {error}. The next check tries again.",
            panel=panel,
            error=t.isolate(escape(p["error"])),
        )
    lines = [
        t._(
            # Counts as labelled values: one sentence cannot agree with two numbers.
            "🔎 <b>Panel {panel} disagrees with the bot</b>. Active customers here: "
            "{customers}; users on the panel: {users}.",
            panel=panel,
            customers=t.number(p["customers"]),
            users=t.number(p["panel_users"]),
        )
    ]
    for category in CATEGORIES:
        found = p[category]
        if not found["count"]:
            continue
        lines.append("\n" + _title(category, t.number(found["count"]), t))
        lines.extend(_line(category, item, settings, t) for item in found["items"])
        more = found["count"] - len(found["items"])
        if more > 0:
            lines.append(t.n_("… and {n} more", "… and {n} more", more))
    lines.append(
        "\n"
        + t._(
            "Nothing was changed. <code>python -m bot panel check --name {panel}</code> "
            "lists it all; <code>panel import</code> adopts unknown users.",
            panel=panel,
        )
    )
    return fit(lines)
