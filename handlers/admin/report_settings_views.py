"""The owners' scheduled reports screen: when each report goes out, and a button per
report and per summary section that switches it off or on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from handlers.admin.report_callbacks import SWITCH
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]
ON, OFF = "✅", "▫️"


def _names(t: Translator) -> dict[str, str]:
    return {
        "daily": t._("Daily summary"),
        "weekly": t._("Weekly summary"),
        "statements": t._("Monthly statements"),
        "sales": t._("Sales"),
        "topups": t._("Top-ups"),
        "credits": t._("Credits"),
        "customers": t._("New customers"),
        "expiries": t._("Expiries ahead"),
        "debt": t._("Postpaid debt"),
        "top": t._("Top resellers"),
    }


def _clock(at: dt.time, r: Reader) -> str:
    text = at.strftime("%H:%M")
    return r.t.isolate("".join(r.number(int(c)) if c.isdigit() else c for c in text))


def screen(
    on: Mapping[str, bool],
    *,
    daily: dt.time,
    weekday: int,
    weekly: dt.time,
    statements: dt.time,
    group: bool,
    r: Reader,
    note: str = "",
) -> Screen:
    """``on``: each report, then each section in the summaries' order, on or off."""
    t = r.t
    day_name = t.locale.days["format"]["wide"][weekday - 1]
    lines = [
        t._("🗓 <b>Scheduled reports</b>"),
        t._("Daily summary to the admin group at {time}, of the day before.",
            time=_clock(daily, r)),
        t._("Weekly summary every {day} at {time}, of the seven days before.",
            day=day_name, time=_clock(weekly, r)),
        t._("Monthly statements to every reseller on the 1st at {time}.",
            time=_clock(statements, r)),
        "",
        t._("Tap a report or a section of the summaries to switch it off or on."),
    ]  # fmt: skip
    if not group:
        lines.append(t._("⚠️ No admin group is set (ADMIN_CHAT_ID): the summaries go nowhere."))
    if note:
        lines = [note, "", *lines]
    names = _names(t)
    buttons = [
        keyboards.button(f"{ON if shown else OFF} {names[name]}", SWITCH.build(name, not shown))
        for name, shown in on.items()
    ]
    rows: list[list[InlineKeyboardButton]] = [[b] for b in buttons[:3]]
    rows += [buttons[i : i + 2] for i in range(3, len(buttons), 2)]
    rows.append([keyboards.button(t._("⬅️ Menu"), keyboards.MENU)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def changed(name: str, enabled: bool, t: Translator) -> str:
    label = _names(t)[name]
    if enabled:
        return t._("✅ {name} switched on.", name=label)
    return t._("▫️ {name} switched off.", name=label)
