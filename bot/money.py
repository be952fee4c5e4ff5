"""Credits as integer hundredths: parsing what people type, and formatting."""

from __future__ import annotations

import re
from decimal import Decimal

from bot.days import latin_digits

# 1,000,000,000.00 credits: far above any real wallet, far below BigInteger's range.
MAX_AMOUNT = 100_000_000_000

_AMOUNT = re.compile(r"(\d+)(?:[.,](\d+))?")


class AmountError(ValueError):
    """The text is not an acceptable amount.

    ``code`` says why, for the chat to word in the reader's language; ``params`` are its
    plain values. The message is the English wording the operator CLI prints.
    """

    def __init__(self, code: str, message: str, **params: int) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def parse_amount(text: str, *, max_amount: int = MAX_AMOUNT) -> int:
    """Parse a positive amount with at most two decimals into hundredths.

    Accepts ``100``, ``100.5``, ``100.50``, ``100,50`` and Eastern Arabic / Persian digits.
    """
    cleaned = latin_digits(text.strip()).replace("\u066b", ".")  # ARABIC DECIMAL SEPARATOR
    if cleaned.startswith("-"):
        raise AmountError("negative", "The amount must be positive.")
    match = _AMOUNT.fullmatch(cleaned)
    if not match or not cleaned.isascii():
        raise AmountError(
            "not_a_number", "That is not a number. Send an amount like 100 or 100.50."
        )
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > 2:
        raise AmountError("too_many_decimals", "Use at most two decimals, like 100.50.")
    hundredths = int(Decimal(f"{whole}.{fraction or '0'}") * 100)
    if hundredths <= 0:
        raise AmountError("zero", "The amount must be greater than zero.")
    if hundredths > max_amount:
        raise AmountError(
            "too_large",
            f"The amount is too large; the most is {format_number(max_amount)}.",
            maximum=max_amount,
        )
    return hundredths


def format_number(hundredths: int) -> str:
    """``12345`` -> ``123.45``; ``-5`` -> ``-0.05``. Always two decimals."""
    sign = "-" if hundredths < 0 else ""
    whole, cents = divmod(abs(hundredths), 100)
    return f"{sign}{whole}.{cents:02d}"


def format_amount(hundredths: int, currency: str) -> str:
    return f"{format_number(hundredths)} {currency}"
