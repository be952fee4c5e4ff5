"""The price lists' rules without the database: refusals, what the service returns, and
parsing and rounding prices and percentages (see ``bot.services.price_lists``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.money import AmountError, parse_amount
from bot.services.admin_log import ActionError

MAX_NAME = 64
WHOLE = 10_000  # 100.00 % in hundredths of a percent
MAX_LIST_PRICE = 100_000_000_000  # hundredths; as bot.money.MAX_AMOUNT


class PriceListError(ActionError):
    """A price-list change was refused before anything was written.

    ``below_cost`` names the plan and the ``minimum`` price; ``percent_too_high`` the plan
    and the ``maximum`` percentage (hundredths of a percent) that keeps it at cost.
    """


class Priced(Protocol):
    """A plan as the sale reads it: its id and base price."""

    @property
    def id(self) -> int: ...

    @property
    def price(self) -> int: ...


@dataclass(frozen=True)
class ListView:
    id: int
    name: str
    owner_id: int | None
    percent_off: int  # hundredths of a percent, for plans without an entry
    resellers: int  # how many are on it


@dataclass(frozen=True)
class PlanPrice:
    plan_id: int
    code: str
    name: str
    base: int  # the plan's base price
    cost: int  # what the list's owner pays (the base price for the business's lists)
    price: int  # what a reseller on the list pays (before a parent's floor)
    fixed: int | None  # the entry's fixed price, if the entry is one
    percent: int | None  # the entry's percentage, if the entry is one


@dataclass(frozen=True)
class ListCard:
    price_list: ListView
    plans: tuple[PlanPrice, ...]


@dataclass(frozen=True)
class Member:
    """A reseller who can be put on a list: its id, name and the list it is on."""

    id: int
    telegram_id: int
    name: str
    price_list_id: int | None
    list_name: str | None


@dataclass(frozen=True)
class ParentPrices:
    """A parent's /prices: what it pays per plan, its lists and its children."""

    reseller_id: int
    costs: tuple[PlanPrice, ...]
    lists: tuple[ListView, ...]
    children: tuple[Member, ...]


# --- parsing and arithmetic ---------------------------------------------------------------


def discounted(base: int, percent_off: int) -> int:
    """``base`` less ``percent_off`` hundredths of a percent, rounded half up, at least 0.01."""
    return max(1, (base * (WHOLE - percent_off) + WHOLE // 2) // WHOLE)


def check_percent(percent_off: int) -> int:
    if not 0 <= percent_off < WHOLE:
        raise PriceListError("bad_percent", "a percentage off is from 0 up to (not including) 100")
    return percent_off


def parse_percent(text: str) -> int:
    """``10``, ``12.5%`` or ``0``: hundredths of a percent, from 0 up to 100 (excluded)."""
    cleaned = text.strip().removesuffix("%").strip()
    if cleaned and set(cleaned) <= set("0.,\u0660\u06f0\u066b"):  # zero, in any digits
        return 0
    try:
        return check_percent(parse_amount(cleaned, max_amount=WHOLE))
    except AmountError as exc:
        raise PriceListError(
            "bad_percent", "a percentage off is from 0 up to (not including) 100"
        ) from exc


@dataclass(frozen=True)
class Typed:
    """A plan's price as typed: a fixed price, or a percentage off the base price."""

    price: int | None = None
    percent_off: int | None = None


def parse_entry(text: str) -> Typed:
    """``12.50`` (a price) or ``10%`` (a percentage off the base price)."""
    if text.strip().endswith("%"):
        return Typed(percent_off=parse_percent(text))
    try:
        return Typed(price=parse_amount(text, max_amount=MAX_LIST_PRICE))
    except AmountError as exc:
        raise PriceListError(
            "bad_price", f"not a price or a percentage: {exc}", reason=exc.code
        ) from exc


def check_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise PriceListError(
            "bad_name", f"a list's name is 1 to {MAX_NAME} characters", limit=MAX_NAME
        )
    return name


def max_percent(base: int, cost: int) -> int:
    """The largest percentage off ``base`` whose price is still at or above ``cost``."""
    if cost > base:
        return -1
    percent = (base - cost) * WHOLE // base
    while percent + 1 < WHOLE and discounted(base, percent + 1) >= cost:
        percent += 1
    return min(percent, WHOLE - 1)
