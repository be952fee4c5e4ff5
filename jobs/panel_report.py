"""The admins' message for one panel check (see ``bot.services.panel_sync``)."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Any

from bot.settings import Settings
from handlers.pages import fit

TITLES = (
    ("missing", "Missing on the panel"),
    ("expired_early", "Expired early on the panel"),
    ("disabled", "Disabled on the panel"),
    ("unknown", "On the panel, unknown to the bot"),
)


def _day(iso: str | None, settings: Settings) -> str:
    if not iso:
        return "never"
    return dt.datetime.fromisoformat(iso).astimezone(settings.zone).strftime("%Y-%m-%d")


def _line(category: str, item: dict[str, Any], settings: Settings) -> str:
    name = f"<code>{escape(item['username'])}</code>"
    here, there = _day(item.get("bot"), settings), _day(item.get("panel"), settings)
    if category == "missing":
        return f"• {name} · here until {here}"
    if category == "expired_early":
        return f"• {name} · panel {there} ({escape(item.get('state') or '?')}), here {here}"
    if category == "disabled":
        return f"• {name} · here until {here}"
    return f"• {name} · {escape(item.get('state') or '?')}, expires {there}"


def render(p: dict[str, Any], settings: Settings) -> str:
    panel = escape(p["panel"])
    if p.get("error"):
        return (
            f"⚠️ <b>Panel {panel} could not be checked</b>: {escape(p['error'])}. "
            "The next check tries again."
        )
    lines = [
        f"🔎 <b>Panel {panel} disagrees with the bot</b>: {p['customers']} active customers "
        f"here, {p['panel_users']} users on the panel."
    ]
    for category, title in TITLES:
        found = p[category]
        if not found["count"]:
            continue
        lines.append(f"\n<b>{title}</b> ({found['count']})")
        lines.extend(_line(category, item, settings) for item in found["items"])
        if found["count"] > len(found["items"]):
            lines.append(f"… and {found['count'] - len(found['items'])} more")
    lines.append(
        "\nNothing was changed. <code>python -m bot panel check --name "
        f"{panel}</code> lists it all; <code>panel import</code> adopts unknown users."
    )
    return fit(lines)
