"""Who reads a screen: their language, and how the bot writes amounts, dates and names.

Every view takes a ``Reader`` so that an amount, a date or a username is written one way
everywhere, in the reader's digits and kept whole inside a right-to-left sentence.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from html import escape
from zoneinfo import ZoneInfo

from bot.i18n import Translator
from bot.settings import Settings


@dataclass(frozen=True)
class Reader:
    t: Translator
    currency: str  # of credits, as settings give it (escaped when written)
    zone: ZoneInfo
    price_currency: str = "USD"  # what credits are paid in

    @classmethod
    def of(cls, settings: Settings, t: Translator) -> Reader:
        return cls(t, settings.currency, settings.zone, settings.price_currency)

    def money(self, hundredths: int) -> str:
        """An amount of credits: two decimals, the locale's digits, the currency."""
        return self.t.amount(hundredths, escape(self.currency))

    def price(self, hundredths: int) -> str:
        """An amount in the currency credits are paid in."""
        return self.t.amount(hundredths, escape(self.price_currency))

    def signed(self, hundredths: int) -> str:
        """A movement's amount without currency: ``+12.50`` or ``-3.00`` in the locale's digits."""
        sign = "+" if hundredths > 0 else "-"
        return sign + self.t.amount(abs(hundredths), "").strip()

    def number(self, value: int) -> str:
        return self.t.number(value)

    def date(self, moment: dt.datetime) -> str:
        return self.t.date(moment, self.zone)

    def time(self, moment: dt.datetime) -> str:
        """hh:mm in the reader's zone and digits."""
        local = moment.astimezone(self.zone).strftime("%H:%M")
        return self.t.isolate("".join(self.t.number(int(c)) if c.isdigit() else c for c in local))

    def name(self, text: str) -> str:
        """A username, a plan or a panel's name: escaped, kept whole in a right-to-left text."""
        return self.t.isolate(escape(text))


@dataclass(frozen=True)
class Asker:
    """Who is filling a form in, once allowed: how they read, and their Telegram id."""

    r: Reader
    me: int
