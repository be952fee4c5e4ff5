"""The scheduled backup's caption: the operator's chat, in the default language."""

from __future__ import annotations

import datetime as dt
import html
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.i18n import Translator

MB = 1024 * 1024


def caption(t: Translator, *, name: str, size: int, made_at: dt.datetime, zone: ZoneInfo) -> str:
    return t._(
        "Database backup <code>{name}</code> ({size} MB), made {time}.\n"
        "Encrypted with the bot's SECRET_KEY: restore it on any machine that has that key "
        "with <code>python -m bot restore FILE</code>.",
        name=html.escape(name),
        size=t.decimal(Decimal(size) / MB, places=1),
        time=t.isolate(made_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")),
    )
