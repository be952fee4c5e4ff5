"""The moments a scheduled announcement may be given: quick ones relative to now, the
hours of a day picked on the calendar, and a typed date and time, all in the bot's zone
and returned in UTC. Pure functions of the clock's now, so tests fix them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.days import latin_digits

QUICK_WORDS = ("in1h", "in3h", "tom09", "tom18")
DAY_HOURS = (9, 12, 15, 18, 21)
FURTHEST_DAYS = 365  # the calendar offers a year ahead


def _minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def quick(word: str, now: dt.datetime, zone: ZoneInfo) -> dt.datetime | None:
    """The moment a quick button names (None for a word it does not know). "Tomorrow"
    buttons carry the day they meant when shown (``tom09-yyyymmdd``), so a screen shown
    before midnight and tapped after it keeps that day; without one, tomorrow is now's."""
    word, _, on = word.partition("-")
    if word == "in1h":
        return _minute(now + dt.timedelta(hours=1))
    if word == "in3h":
        return _minute(now + dt.timedelta(hours=3))
    if word in ("tom09", "tom18"):
        tomorrow = today(now, zone) + dt.timedelta(days=1)
        if on:
            try:
                tomorrow = dt.datetime.strptime(on, "%Y%m%d").date()
            except ValueError:
                return None
        local = dt.datetime.combine(tomorrow, dt.time(int(word[3:])), zone)
        return local.astimezone(dt.UTC)
    return None


def quick_times(now: dt.datetime, zone: ZoneInfo) -> list[tuple[str, dt.datetime]]:
    """Every quick button's data (a "tomorrow" one with its day), with the moment it
    names in the bot's zone."""
    found = [(word, quick(word, now, zone)) for word in QUICK_WORDS]
    return [
        (f"{word}-{at.astimezone(zone):%Y%m%d}" if word.startswith("tom") else word,
         at.astimezone(zone))
        for word, at in found
        if at is not None
    ]  # fmt: skip


def today(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    return now.astimezone(zone).date()


def last_day(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    return today(now, zone) + dt.timedelta(days=FURTHEST_DAYS)


def day_start(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone)


def day_hours(day: dt.date, now: dt.datetime, zone: ZoneInfo) -> list[dt.datetime]:
    """The offered hours of ``day`` still ahead of now, in the bot's zone."""
    hours = [dt.datetime.combine(day, dt.time(h), zone) for h in DAY_HOURS]
    return [at for at in hours if at > now]


def at_hour(day: dt.date, hhmm: str, zone: ZoneInfo) -> dt.datetime | None:
    """``day`` at ``hhmm`` (``0930`` or ``09:30``) in UTC; None if it is no time."""
    try:
        clock = dt.datetime.strptime(hhmm.replace(":", ""), "%H%M").time()
    except ValueError:
        return None
    return dt.datetime.combine(day, clock, zone).astimezone(dt.UTC)


def typed(text: str, day: dt.date | None, zone: ZoneInfo) -> dt.datetime | None:
    """``yyyy-mm-dd hh:mm``, or ``hh:mm`` once a day was picked; None if neither."""
    text = latin_digits(text).strip()
    if day is not None and len(text) <= 5:
        return at_hour(day, text, zone)
    try:
        local = dt.datetime.strptime(text, "%Y-%m-%d %H:%M")
    except ValueError:
        return None
    return local.replace(tzinfo=zone).astimezone(dt.UTC)
