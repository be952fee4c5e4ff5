"""Price lists: what each reseller pays for a plan.

A reseller on no list pays the plan's base price. A reseller on a list pays the list's
entry for the plan when there is one (a fixed price, or a percentage off the base price),
else the base price less the list's own percentage. A percentage is kept in hundredths
of a percent (``1000`` is 10 %); a price after a percentage is rounded half up to the
hundredth and never goes below 0.01.

Lists whose ``owner_id`` is NULL are the business's, managed by admins allowed the
catalogue. A reseller allowed sub-resellers (``downline_depth > 0``) keeps its own lists
for its children (``Reseller.parent_id``): it may only change its own lists and put its
own children on them, and no price on its lists may be below what it pays itself.

The parent's floor holds later too: a sub-reseller never pays less than its parent pays
for the same plan (``price_for`` takes the higher of the two, up the whole tree), so a
parent whose own price rises is never sold below cost by a list set up earlier.

Every change is written to the action log with the values before and after.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.money import AmountError, format_number, parse_amount
from bot.services import admin_log
from bot.services.admin_log import ActionError
from models import Plan, PriceList, PriceListEntry, Reseller, ResellerStatus

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


def _max_percent(base: int, cost: int) -> int:
    """The largest percentage off ``base`` whose price is still at or above ``cost``."""
    if cost > base:
        return -1
    percent = (base - cost) * WHOLE // base
    while percent + 1 < WHOLE and discounted(base, percent + 1) >= cost:
        percent += 1
    return min(percent, WHOLE - 1)


# --- what a reseller pays -----------------------------------------------------------------


async def _entries(session: AsyncSession, list_id: int) -> dict[int, PriceListEntry]:
    rows = await session.scalars(
        select(PriceListEntry).where(PriceListEntry.price_list_id == list_id)
    )
    return {row.plan_id: row for row in rows}


def _on_list(base: int, percent_off: int, entry: PriceListEntry | None) -> int:
    if entry is not None and entry.price is not None:
        return entry.price
    if entry is not None and entry.percent_off is not None:
        return discounted(base, entry.percent_off)
    return discounted(base, percent_off)


async def list_price(session: AsyncSession, list_id: int | None, plan: Priced) -> int:
    """What a list says for ``plan`` (the base price for no list)."""
    if list_id is None:
        return plan.price
    found = await session.get(PriceList, list_id)
    if found is None:
        return plan.price
    entry = await session.scalar(
        select(PriceListEntry).where(
            PriceListEntry.price_list_id == list_id, PriceListEntry.plan_id == plan.id
        )
    )
    return _on_list(plan.price, found.percent_off, entry)


async def price_for(session: AsyncSession, reseller_id: int, plan: Priced) -> int:
    """What reseller ``reseller_id`` pays for ``plan``: its list's price, never below what
    its parent (and its parent's parent...) pays for the same plan."""
    price, seen, current = 0, set[int](), reseller_id
    while current not in seen:
        seen.add(current)
        row = await session.get(Reseller, current)
        if row is None:
            break
        price = max(price, await list_price(session, row.price_list_id, plan))
        if row.parent_id is None:
            break
        current = row.parent_id
    return price


# --- who may change which list -----------------------------------------------------------


async def _parent(session: AsyncSession, telegram_id: int) -> Reseller:
    """A reseller allowed sub-resellers, active: the owner of the lists it edits."""
    row = await session.scalar(select(Reseller).where(Reseller.telegram_id == telegram_id))
    if row is None or row.downline_depth <= 0:
        raise PriceListError(
            "not_a_parent", "only a reseller allowed sub-resellers keeps price lists"
        )
    if row.status != ResellerStatus.ACTIVE:
        raise PriceListError("suspended", "a suspended reseller cannot change prices")
    return row


async def owner_id_of(session: AsyncSession, parent_telegram_id: int | None) -> int | None:
    """The lists' owner for an actor: None for the business, else the parent's id."""
    if parent_telegram_id is None:
        return None
    return (await _parent(session, parent_telegram_id)).id


async def _own_list(
    session: AsyncSession, list_id: int, owner_id: int | None, *, lock: bool = False
) -> PriceList:
    """The list if it belongs to ``owner_id``'s scope; otherwise as if it did not exist."""
    found = await session.get(PriceList, list_id, with_for_update=lock)
    if found is None or found.owner_id != owner_id:
        raise PriceListError("no_list", "there is no such price list", list_id=list_id)
    return found


async def _count(session: AsyncSession, list_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Reseller).where(Reseller.price_list_id == list_id)
        )
        or 0
    )


async def _view(session: AsyncSession, row: PriceList) -> ListView:
    return ListView(row.id, row.name, row.owner_id, row.percent_off, await _count(session, row.id))


async def _name_free(
    session: AsyncSession, owner_id: int | None, name: str, but: int | None = None
) -> None:
    query = select(PriceList.id).where(
        func.lower(PriceList.name) == name.lower(),
        PriceList.owner_id.is_(None) if owner_id is None else PriceList.owner_id == owner_id,
    )
    if but is not None:
        query = query.where(PriceList.id != but)
    if await session.scalar(query) is not None:
        raise PriceListError("name_taken", f"there is already a list named {name!r}", name=name)


async def _cost(session: AsyncSession, owner_id: int | None, plan: Plan) -> int:
    """What the list's owner pays for ``plan``: a floor for the prices on its lists."""
    if owner_id is None:
        return plan.price
    return await price_for(session, owner_id, plan)


async def _check_floor(
    session: AsyncSession,
    owner_id: int | None,
    plan: Plan,
    *,
    price: int | None = None,
    percent_off: int | None = None,
) -> None:
    """On a parent's list a price below the parent's own cost is refused, saying the floor."""
    if owner_id is None:
        return
    cost = await _cost(session, owner_id, plan)
    if price is not None and price < cost:
        raise PriceListError(
            "below_cost",
            f"{plan.code} costs you {format_number(cost)}; the price must be at least that",
            plan=plan.name,
            minimum=cost,
        )
    if percent_off is not None and discounted(plan.price, percent_off) < cost:
        most = _max_percent(plan.price, cost)
        raise PriceListError(
            "percent_too_high",
            f"{plan.code} costs you {format_number(cost)}; "
            + (
                f"at most {format_number(most)}% off its base price keeps it at that"
                if most >= 0
                else "its base price is already below that: set a fixed price"
            ),
            plan=plan.name,
            minimum=cost,
            maximum=max(most, 0),
        )


def _logged(row: PriceList) -> dict[str, object]:
    return {"list": row.name, "owner_id": row.owner_id, "percent_off": row.percent_off}


async def _plans(session: AsyncSession) -> list[Plan]:
    return list(
        await session.scalars(
            select(Plan).where(Plan.active.is_(True)).order_by(Plan.position, Plan.id)
        )
    )


# --- changing lists ------------------------------------------------------------------------


async def create_list(
    db: Database,
    *,
    name: str,
    percent_off: int = 0,
    parent_telegram_id: int | None = None,
    actor: str,
    now: dt.datetime,
) -> ListView:
    """A new list: the business's, or (``parent_telegram_id``) that parent's own."""
    name, percent_off = check_name(name), check_percent(percent_off)
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        await _name_free(session, owner_id, name)
        for plan in await _plans(session):
            await _check_floor(session, owner_id, plan, percent_off=percent_off)
        row = PriceList(name=name, owner_id=owner_id, percent_off=percent_off, created_at=now)
        session.add(row)
        await session.flush()
        await admin_log.record(
            session, actor=actor, action="price_list_added", now=now, reseller_id=owner_id,
            after=_logged(row),
        )  # fmt: skip
        return await _view(session, row)


async def rename_list(
    db: Database,
    *,
    list_id: int,
    name: str,
    parent_telegram_id: int | None = None,
    actor: str,
    now: dt.datetime,
) -> ListView:
    name = check_name(name)
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        row = await _own_list(session, list_id, owner_id, lock=True)
        if row.name != name:
            await _name_free(session, owner_id, name, but=row.id)
            before = _logged(row)
            row.name = name
            await admin_log.record(
                session, actor=actor, action="price_list_renamed", now=now,
                reseller_id=owner_id, before=before, after=_logged(row),
            )  # fmt: skip
        return await _view(session, row)


async def set_list_percent(
    db: Database,
    *,
    list_id: int,
    percent_off: int,
    parent_telegram_id: int | None = None,
    actor: str,
    now: dt.datetime,
) -> ListView:
    """The percentage off for plans without an entry on the list."""
    percent_off = check_percent(percent_off)
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        row = await _own_list(session, list_id, owner_id, lock=True)
        entries = await _entries(session, row.id)
        for plan in await _plans(session):
            if plan.id not in entries:
                await _check_floor(session, owner_id, plan, percent_off=percent_off)
        if row.percent_off != percent_off:
            before = _logged(row)
            row.percent_off = percent_off
            await admin_log.record(
                session, actor=actor, action="price_list_percent", now=now,
                reseller_id=owner_id, before=before, after=_logged(row),
            )  # fmt: skip
        return await _view(session, row)


async def delete_list(
    db: Database,
    *,
    list_id: int,
    parent_telegram_id: int | None = None,
    actor: str,
    now: dt.datetime,
) -> ListView:
    """Remove a list nobody is on (refused, with how many are on it, otherwise)."""
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        row = await _own_list(session, list_id, owner_id, lock=True)
        view = await _view(session, row)
        if view.resellers:
            raise PriceListError(
                "list_in_use",
                f"{view.resellers} reseller(s) are on {row.name}; move them first",
                name=row.name,
                count=view.resellers,
            )
        entries = await _entries(session, row.id)
        for entry in entries.values():
            await session.delete(entry)
        await admin_log.record(
            session, actor=actor, action="price_list_removed", now=now, reseller_id=owner_id,
            before={**_logged(row), "entries": len(entries)},
        )  # fmt: skip
        await session.delete(row)
        return view


async def _plan(session: AsyncSession, plan_id: int) -> Plan:
    plan = await session.get(Plan, plan_id)
    if plan is None:
        raise PriceListError("no_plan", f"no plan with id {plan_id}", plan_id=plan_id)
    return plan


def _entry_logged(row: PriceList, plan: Plan, entry: PriceListEntry | None) -> dict[str, object]:
    return {
        "list": row.name, "plan": plan.code,
        "price": entry.price if entry else None,
        "percent_off": entry.percent_off if entry else None,
    }  # fmt: skip


async def set_entry(
    db: Database,
    *,
    list_id: int,
    plan_id: int,
    price: int | None = None,
    percent_off: int | None = None,
    parent_telegram_id: int | None = None,
    actor: str,
    now: dt.datetime,
) -> ListCard:
    """A plan's price on the list: a fixed ``price`` or a ``percent_off`` its base price."""
    if (price is None) == (percent_off is None):
        raise PriceListError("bad_price", "give either a price or a percentage")
    if price is not None and not 0 < price <= MAX_LIST_PRICE:
        raise PriceListError("bad_price", "the price must be greater than zero")
    if percent_off is not None:
        check_percent(percent_off)
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        row = await _own_list(session, list_id, owner_id, lock=True)
        plan = await _plan(session, plan_id)
        await _check_floor(session, owner_id, plan, price=price, percent_off=percent_off)
        entry = (await _entries(session, row.id)).get(plan.id)
        before = _entry_logged(row, plan, entry)
        if entry is None:
            entry = PriceListEntry(price_list_id=row.id, plan_id=plan.id)
            session.add(entry)
        entry.price, entry.percent_off = price, percent_off
        after = _entry_logged(row, plan, entry)
        if after != before:
            await session.flush()
            await admin_log.record(
                session, actor=actor, action="price_entry_set", now=now, reseller_id=owner_id,
                before=before, after=after,
            )  # fmt: skip
        return await _card(session, row)


async def clear_entry(
    db: Database,
    *,
    list_id: int,
    plan_id: int,
    parent_telegram_id: int | None = None,
    actor: str,
    now: dt.datetime,
) -> ListCard:
    """The plan goes back to the list's percentage off its base price (a second time: no-op).

    On a parent's list that percentage must still keep the plan at the parent's cost."""
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        row = await _own_list(session, list_id, owner_id, lock=True)
        plan = await _plan(session, plan_id)
        entry = (await _entries(session, row.id)).get(plan.id)
        if entry is not None:
            await _check_floor(session, owner_id, plan, percent_off=row.percent_off)
            await admin_log.record(
                session, actor=actor, action="price_entry_cleared", now=now,
                reseller_id=owner_id, before=_entry_logged(row, plan, entry),
            )  # fmt: skip
            await session.delete(entry)
            await session.flush()
        return await _card(session, row)


async def assign(
    db: Database,
    *,
    reseller_telegram_id: int,
    list_id: int | None,
    parent_telegram_id: int | None = None,
    actor: str,
    now: dt.datetime,
) -> Member:
    """Put a reseller on a list, or (``list_id`` None) back on base prices.

    An admin may put anyone on one of the business's lists, and a parent's child on that
    parent's lists; a parent only its own children, on its own lists (or none)."""
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        who = await session.scalar(
            select(Reseller).where(Reseller.telegram_id == reseller_telegram_id).with_for_update()
        )
        if who is None or (owner_id is not None and who.parent_id != owner_id):
            raise PriceListError(
                "no_reseller", f"{reseller_telegram_id} is not a reseller you manage",
                telegram_id=reseller_telegram_id,
            )  # fmt: skip
        chosen = None
        if list_id is not None:
            chosen = await session.get(PriceList, list_id)
            allowed = chosen is not None and (
                chosen.owner_id == owner_id
                or (owner_id is None and chosen.owner_id == who.parent_id)
            )
            if chosen is None or not allowed:
                raise PriceListError("no_list", "there is no such price list", list_id=list_id)
        old = await session.get(PriceList, who.price_list_id) if who.price_list_id else None
        if who.price_list_id != list_id:
            await admin_log.record(
                session, actor=actor, action="price_list_assigned", now=now,
                reseller_id=who.id,
                before={"list": old.name if old else None},
                after={"list": chosen.name if chosen else None},
            )  # fmt: skip
            who.price_list_id = list_id
            await session.flush()
        return Member(who.id, who.telegram_id, who.name, list_id, chosen.name if chosen else None)


# --- reading -------------------------------------------------------------------------------


async def _card(session: AsyncSession, row: PriceList) -> ListCard:
    entries = await _entries(session, row.id)
    shown = []
    for plan in await _plans(session):
        entry = entries.get(plan.id)
        shown.append(
            PlanPrice(
                plan.id, plan.code, plan.name, plan.price,
                await _cost(session, row.owner_id, plan),
                _on_list(plan.price, row.percent_off, entry),
                entry.price if entry else None,
                entry.percent_off if entry else None,
            )
        )  # fmt: skip
    return ListCard(await _view(session, row), tuple(shown))


async def lists(db: Database, *, parent_telegram_id: int | None = None) -> list[ListView]:
    """The business's lists, or a parent's own, by name."""
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        rows = await session.scalars(
            select(PriceList)
            .where(
                PriceList.owner_id.is_(None) if owner_id is None else PriceList.owner_id == owner_id
            )
            .order_by(func.lower(PriceList.name), PriceList.id)
        )
        return [await _view(session, row) for row in rows]


async def card(db: Database, *, list_id: int, parent_telegram_id: int | None = None) -> ListCard:
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        return await _card(session, await _own_list(session, list_id, owner_id))


async def find_list(db: Database, *, name: str, parent_telegram_id: int | None = None) -> ListView:
    """A list by name (any case), in the business's or a parent's lists."""
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        row = await session.scalar(
            select(PriceList).where(
                func.lower(PriceList.name) == " ".join(name.split()).lower(),
                PriceList.owner_id.is_(None)
                if owner_id is None
                else PriceList.owner_id == owner_id,
            )
        )
        if row is None:
            raise PriceListError("no_list", f"no price list named {name!r}", name=name)
        return await _view(session, row)


async def plan_by_code(db: Database, code: str) -> int:
    async with db.transaction() as session:
        found = await session.scalar(select(Plan.id).where(Plan.code == code.strip().lower()))
        if found is None:
            raise PriceListError("no_plan", f"no plan with code {code!r}", plan=code)
        return found


async def member(
    db: Database, *, reseller_telegram_id: int, parent_telegram_id: int | None = None
) -> tuple[Member, list[ListView]]:
    """A reseller and the lists it may be put on by this actor (for the chooser)."""
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        who = await session.scalar(
            select(Reseller).where(Reseller.telegram_id == reseller_telegram_id)
        )
        if who is None or (owner_id is not None and who.parent_id != owner_id):
            raise PriceListError(
                "no_reseller", f"{reseller_telegram_id} is not a reseller you manage",
                telegram_id=reseller_telegram_id,
            )  # fmt: skip
        if owner_id is not None:
            scope = PriceList.owner_id == owner_id
        elif who.parent_id is not None:
            scope = PriceList.owner_id.is_(None) | (PriceList.owner_id == who.parent_id)
        else:
            scope = PriceList.owner_id.is_(None)
        rows = await session.scalars(
            select(PriceList)
            .where(scope)
            .order_by(PriceList.owner_id.is_not(None), func.lower(PriceList.name))
        )
        options = [await _view(session, row) for row in rows]
        current = await session.get(PriceList, who.price_list_id) if who.price_list_id else None
        return (
            Member(who.id, who.telegram_id, who.name, who.price_list_id,
                   current.name if current else None),
            options,
        )  # fmt: skip


async def parent_prices(db: Database, *, parent_telegram_id: int) -> ParentPrices:
    """A parent's own cost per plan, its lists and its children with the list each is on."""
    async with db.transaction() as session:
        parent = await _parent(session, parent_telegram_id)
        costs = []
        for plan in await _plans(session):
            mine = await price_for(session, parent.id, plan)
            costs.append(
                PlanPrice(plan.id, plan.code, plan.name, plan.price, mine, mine, None, None)
            )
        rows = await session.scalars(
            select(PriceList)
            .where(PriceList.owner_id == parent.id)
            .order_by(func.lower(PriceList.name))
        )
        own = [await _view(session, row) for row in rows]
        names = {v.id: v.name for v in own}
        children = await session.scalars(
            select(Reseller).where(Reseller.parent_id == parent.id).order_by(Reseller.name)
        )
        kids = []
        for child in children:
            name = names.get(child.price_list_id) if child.price_list_id else None
            if child.price_list_id and name is None:
                found = await session.get(PriceList, child.price_list_id)
                name = found.name if found else None
            kids.append(Member(child.id, child.telegram_id, child.name, child.price_list_id, name))
        return ParentPrices(parent.id, tuple(costs), tuple(own), tuple(kids))
