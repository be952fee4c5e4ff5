"""An inline calendar's month: a header with ◀️ ▶️ to page through months, the weekdays,
and a button per day that may be picked. Days outside ``first``..``last`` are not offered
(a dot), weeks wholly before ``first`` are left out. Month and weekday names are the
reader's locale's own (Babel's), days in the reader's digits."""

from __future__ import annotations

import calendar
import datetime as dt

from telegram import InlineKeyboardButton

from handlers.calendar import Calendar
from handlers.reader import Reader

NOT_OFFERED = "·"
PREVIOUS, NEXT = "◀️", "▶️"


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def shift(first: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after (or before) ``first``'s."""
    index = first.year * 12 + first.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _digits(r: Reader, text: str) -> str:
    return "".join(r.number(int(c)) if c.isdigit() else c for c in text)


def month(
    codec: Calendar, scope: int, shown: dt.date, first: dt.date, last: dt.date, r: Reader
) -> list[list[InlineKeyboardButton]]:
    """The rows of the calendar for ``shown``'s month, offering the days ``first``..``last``."""
    shown = min(max(first_of_month(shown), first_of_month(first)), first_of_month(last))
    blank = codec.nothing(scope)
    names = r.t.locale.months["stand-alone"]["wide"]
    title = f"{names[shown.month]} {_digits(r, str(shown.year))}"
    before = (
        InlineKeyboardButton(PREVIOUS, callback_data=codec.month(scope, shift(shown, -1)))
        if shown > first_of_month(first)
        else InlineKeyboardButton(" ", callback_data=blank)
    )
    after = (
        InlineKeyboardButton(NEXT, callback_data=codec.month(scope, shift(shown, 1)))
        if shown < first_of_month(last)
        else InlineKeyboardButton(" ", callback_data=blank)
    )
    rows = [[before, InlineKeyboardButton(title, callback_data=blank), after]]
    weekdays = r.t.locale.days["stand-alone"]["short"]
    rows.append([InlineKeyboardButton(weekdays[i], callback_data=blank) for i in range(7)])
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(shown.year, shown.month):
        if week[-1] < first:
            continue
        rows.append([_day(codec, scope, day, shown, first, last, r) for day in week])
    return rows


def _day(
    codec: Calendar,
    scope: int,
    day: dt.date,
    shown: dt.date,
    first: dt.date,
    last: dt.date,
    r: Reader,
) -> InlineKeyboardButton:
    if day.month != shown.month or not first <= day <= last:
        return InlineKeyboardButton(NOT_OFFERED, callback_data=codec.nothing(scope))
    return InlineKeyboardButton(r.number(day.day), callback_data=codec.day(scope, day))
