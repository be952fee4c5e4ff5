"""The admins' message for one panel check (see ``bot.services.panel_sync``): a notice,
written from its stored parameters when it is sent."""

from __future__ import annotations

import datetime as dt
from typing import Any

from handlers.pages import fit
from handlers.reader import Reader

CATEGORIES = ("missing", "expired_early", "disabled", "unknown")


def _title(category: str, count: str, r: Reader) -> str:
    t = r.t
    if category == "missing":
        return t._("<b>Missing on the panel</b> ({count})", count=count)
    if category == "expired_early":
        return t._("<b>Expired early on the panel</b> ({count})", count=count)
    if category == "disabled":
        return t._("<b>Disabled on the panel</b> ({count})", count=count)
    return t._("<b>On the panel, unknown to the bot</b> ({count})", count=count)


def _day(iso: str | None, r: Reader) -> str:
    if not iso:
        return r.t._("never")
    return r.date(dt.datetime.fromisoformat(iso))


def _line(category: str, item: dict[str, Any], r: Reader) -> str:
    t = r.t
    name = r.name(item["username"])
    here, there = _day(item.get("bot"), r), _day(item.get("panel"), r)
    # The panel's own word for a user's state is shown as the panel says it.
    state = r.name(item.get("state") or "?")
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


def render(p: dict[str, Any], r: Reader) -> str:
    """The check's differences by category, each cut to the items the notice kept."""
    t = r.t
    panel = r.name(p["panel"])
    if p.get("error"):
        return t._(
            "⚠️ <b>Panel {panel} could not be checked</b>: {error}. The next check tries again.",
            panel=panel,
            error=r.name(p["error"]),
        )
    lines = [
        t._(
            # Counts as labelled values: one sentence cannot agree with two numbers.
            "🔎 <b>Panel {panel} disagrees with the bot</b>. Active customers here: "
            "{customers}; users on the panel: {users}.",
            panel=panel,
            customers=r.number(p["customers"]),
            users=r.number(p["panel_users"]),
        )
    ]
    for category in CATEGORIES:
        found = p[category]
        if not found["count"]:
            continue
        lines.append("\n" + _title(category, r.number(found["count"]), r))
        lines.extend(_line(category, item, r) for item in found["items"])
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
