"""When a scheduled announcement goes out: quick times, a day on the calendar and then
an hour of it, or a date and time typed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from handlers import calendar_views
from handlers.announce import callbacks as buttons
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup]


def _cancel_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("✖️ Cancel"), buttons.CANCEL.build())]


def _with_problem(problem: str, text: str) -> str:
    return f"⚠️ {problem}\n\n{text}" if problem else text


def _quick_label(word: str, at: dt.datetime, r: Reader) -> str:
    t = r.t
    labels = {
        "in1h": t._("In 1 hour"),
        "in3h": t._("In 3 hours"),
        "tom09": t._("Tomorrow {time}", time=r.time(at)),
        "tom18": t._("Tomorrow {time}", time=r.time(at)),
    }
    return labels[word.partition("-")[0]]


def ask_time(
    quick: Sequence[tuple[str, dt.datetime]], today: dt.date, r: Reader, problem: str = ""
) -> Screen:
    t = r.t
    text = t._("🕒 When should it go out? Tap a time, pick another day, or send the date and "
               "time as <code>yyyy-mm-dd hh:mm</code> ({zone}).",
               zone=r.name(str(r.zone)))  # fmt: skip
    labels = [
        keyboards.button(_quick_label(w, at, r), buttons.QUICK_TIME.build(w)) for w, at in quick
    ]
    rows = [labels[i : i + 2] for i in range(0, len(labels), 2)]
    first = calendar_views.first_of_month(today)
    rows.append([keyboards.button(t._("📅 Another day"), buttons.CALENDAR.month(0, first))])
    return _with_problem(problem, text), InlineKeyboardMarkup([*rows, _cancel_row(t)])


def pick_day(shown: dt.date, first: dt.date, last: dt.date, r: Reader) -> Screen:
    t = r.t
    rows = calendar_views.month(buttons.CALENDAR, 0, shown, first, last, r)
    return t._("📅 Which day should it go out?"), InlineKeyboardMarkup([*rows, _cancel_row(t)])


def pick_hour(
    day: dt.datetime, hours: Sequence[dt.datetime], r: Reader, problem: str = ""
) -> Screen:
    """``day``: its start; ``hours``: the times still ahead that day."""
    t = r.t
    text = t._("🕒 At what time on {date}? Tap one or send it as <code>hh:mm</code>.",
               date=r.date(day))  # fmt: skip
    labels = [keyboards.button(r.time(at), buttons.DAY_HOUR.build(f"{at:%H%M}")) for at in hours]
    rows = [labels[i : i + 3] for i in range(0, len(labels), 3)]
    first = calendar_views.first_of_month(day.date())
    rows.append([keyboards.button(t._("📅 Another day"), buttons.CALENDAR.month(0, first))])
    return _with_problem(problem, text), InlineKeyboardMarkup([*rows, _cancel_row(t)])
