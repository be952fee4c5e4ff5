"""The rules of an operator's credit form (chat and CLI): what a comment and an expiry
date may be, how much may be removed, and what a movement tells the reseller.

The movement itself is ``wallet.add_credit`` / ``wallet.remove_credit``; refusals here are
``ActionError``s with a code and plain parameters, for the presentation to word.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot import days
from bot.services import admin_log, ledger
from bot.services.admin_log import ActionError
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue

MAX_COMMENT = ledger.MAX_COMMENT
MAX_EXPIRY_YEARS = 10
# Latin, Eastern Arabic (U+0660..) and Persian (U+06F0..) digits.


class Action(StrEnum):
    ADD = "add"
    REMOVE = "remove"


def check_comment(text: str | None) -> str | None:
    return admin_log.check_text(text, MAX_COMMENT, "comment_too_long")


def parse_day(text: str) -> dt.date:
    """``yyyy-mm-dd`` in Latin, Persian or Eastern Arabic digits."""
    try:
        return days.parse_day(text)
    except days.DayError as error:
        raise ActionError(error.code, str(error)) from None


def latest_day(today: dt.date) -> dt.date:
    """The last day an expiry may be set to."""
    try:
        return today.replace(year=today.year + MAX_EXPIRY_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + MAX_EXPIRY_YEARS, day=28)


def today(now: dt.datetime, zone: ZoneInfo) -> dt.date:
    return now.astimezone(zone).date()


def expiry(day: dt.date, *, now: dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """Credits expiring "on" ``day`` stay usable through that day in ``zone``: they expire
    at the start of the next one. A day in the past or too far ahead is refused."""
    first = today(now, zone)
    if day < first:
        raise ActionError(
            "date_in_past", f"{day} is in the past", day=day.isoformat(), today=first.isoformat()
        )
    last = latest_day(first)
    if day > last:
        raise ActionError(
            "date_too_far", f"{day} is after {last}", day=day.isoformat(), latest=last.isoformat()
        )
    start_of_next = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return start_of_next.astimezone(dt.UTC)


def removable(balance: ledger.Balance) -> int:
    """The most an operator may take back: a prepaid reseller stays at or above zero, a
    postpaid one at or above minus its collection limit; held credit is not touched."""
    return max(0, balance.available + balance.credit_limit)


class TooMuchToRemove(ledger.InsufficientCredit):
    """A removal larger than ``removable``; ``maximum`` says how much can be removed."""

    code = "remove_too_much"

    @property
    def maximum(self) -> int:
        return max(0, self.available + self.credit_limit)

    @property
    def params(self) -> dict[str, int]:
        return super().params | {"maximum": self.maximum}


async def tell_reseller(
    session: AsyncSession,
    *,
    kind: Kind,
    transfer_id: int,
    chat_id: int,
    amount: int,
    balance: ledger.Balance,
    comment: str | None,
    now: dt.datetime,
    expires_at: dt.datetime | None = None,
) -> None:
    """Queue the reseller's notice of a credit movement, in the movement's transaction."""
    payload: dict[str, object] = {
        "amount": amount,
        "balance": balance.balance,
        "available": balance.available,
        "comment": comment,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }
    await enqueue(session, [Outgoing(f"credit:{transfer_id}", chat_id, kind, payload)], now)
