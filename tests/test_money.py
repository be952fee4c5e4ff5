import pytest

from bot.money import MAX_AMOUNT, AmountError, format_amount, format_number, parse_amount


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("100", 10000),
        ("100.5", 10050),
        ("100.50", 10050),
        ("100,50", 10050),
        (" 7 ", 700),
        ("0.01", 1),
        ("٣٤٥", 34500),  # Eastern Arabic
        ("۱۲۳٫۴۵", 12345),  # Persian with the Arabic decimal separator
        ("۱۰۰,۵", 10050),
        ("1000000000", MAX_AMOUNT),
    ],
)
def test_parses_accepted_forms(text: str, expected: int) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "not a number"),
        ("abc", "not a number"),
        ("-5", "positive"),
        ("0", "greater than zero"),
        ("0.00", "greater than zero"),
        ("1.234", "two decimals"),
        ("1,2,3", "not a number"),
        ("1,000.50", "not a number"),
        ("1e5", "not a number"),
        ("NaN", "not a number"),
        ("Infinity", "not a number"),
        ("+5", "not a number"),
        ("5.", "not a number"),
        (".5", "not a number"),
        ("१२", "not a number"),  # Devanagari digits are not accepted
        ("1000000000.01", "too large"),
        ("9" * 40, "too large"),
    ],
)
def test_rejects_with_reason(text: str, reason: str) -> None:
    with pytest.raises(AmountError, match=reason):
        parse_amount(text)


def test_formats_two_decimals() -> None:
    assert format_number(0) == "0.00"
    assert format_number(5) == "0.05"
    assert format_number(-5) == "-0.05"
    assert format_number(123456) == "1234.56"
    assert format_amount(10050, "credits") == "100.50 credits"
