"""Days typed in any of the digits our users write."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.days import DayError, latin_digits, parse_day, parse_days


def test_persian_and_eastern_arabic_digits_read_as_latin() -> None:
    assert latin_digits("۲۰۲۶-۱۲-۳۱ ٢٠٢٦") == "2026-12-31 2026"


@pytest.mark.parametrize("text", ["2026-12-31", " ۲۰۲۶-۱۲-۳۱ ", "٢٠٢٦-١٢-٣١"])
def test_a_day_in_any_digits(text: str) -> None:
    assert parse_day(text) == dt.date(2026, 12, 31)


@pytest.mark.parametrize("text", ["2026-02-30", "31-12-2026", "2026-1-1", "tomorrow", ""])
def test_what_is_not_a_day_is_refused(text: str) -> None:
    with pytest.raises(DayError) as refused:
        parse_day(text)
    assert refused.value.code == "bad_date"


@pytest.mark.parametrize("text", ["2026-01-01 2026-01-31", "2026-01-01..2026-01-31"])
def test_two_days_in_order(text: str) -> None:
    assert parse_days(text) == (dt.date(2026, 1, 1), dt.date(2026, 1, 31))


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2026-01-01", "malformed"),
        ("2026-02-30 2026-03-01", "no_such_date"),
        ("2026-03-01 2026-02-30", "no_such_date"),
        ("2026-02-01 2026-01-01", "reversed"),
    ],
)
def test_two_days_that_are_not_a_period_are_refused(text: str, code: str) -> None:
    with pytest.raises(DayError) as refused:
        parse_days(text)
    assert refused.value.code == code
