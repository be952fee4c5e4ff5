"""Days as people type them: ``yyyy-mm-dd`` in Latin, Persian or Eastern Arabic digits."""

from __future__ import annotations

import datetime as dt
import re

# Eastern Arabic (U+0660..) and Persian (U+06F0..) digits.
_LATIN = {ord(c): str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")}
_LATIN |= {ord(c): str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")}
_DAY = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_ONE = re.compile(_DAY)
_TWO = re.compile(rf"([0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}})(?:\s+|\s*\.\.\s*){_DAY}")


class DayError(ValueError):
    """Not a day (or not two days in order); ``code`` says why, for the caller to word."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def latin_digits(text: str) -> str:
    """``text`` with Persian and Eastern Arabic digits written as Latin ones."""
    return text.translate(_LATIN)


def parse_day(text: str) -> dt.date:
    """One real day: ``2026-12-31``."""
    match = _ONE.fullmatch(latin_digits(text.strip()))
    try:
        if match is None:
            raise ValueError(text)
        return dt.date(*(int(part) for part in match.groups()))
    except ValueError:
        raise DayError("bad_date", f"{text!r} is not a date like 2026-12-31") from None


def parse_days(text: str) -> tuple[dt.date, dt.date]:
    """Two real days, the first not after the last: ``2026-01-01 2026-01-31`` (or ``..``
    between them)."""
    match = _TWO.fullmatch(latin_digits(text.strip()))
    if match is None:
        raise DayError("malformed", "send two dates like 2026-01-01 2026-01-31")
    first_text, *last_parts = match.groups()
    try:
        first = dt.date.fromisoformat(first_text)
        last = dt.date(*(int(part) for part in last_parts))
    except ValueError:
        raise DayError("no_such_date", "one of the dates does not exist") from None
    if first > last:
        raise DayError("reversed", "the first date is after the last")
    return first, last
