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

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.money import format_number
from bot.services import admin_log
from bot.services.price_list_core import (
    cost_for,
    entries_of,
    list_card,
    list_price,
    list_view,
    margins,
    offered_plans,
    own_list,
    owner_id_of,
    price_for,
)
from bot.services.price_list_rules import (
    MAX_LIST_PRICE,
    ListCard,
    ListView,
    Member,
    ParentPrices,
    PlanPrice,
    Priced,
    PriceListError,
    Typed,
    check_name,
    check_percent,
    discounted,
    max_percent,
    parse_entry,
    parse_percent,
)
from models import Plan, PriceList, PriceListEntry, Reseller

__all__ = [
    "ListCard", "ListView", "Member", "ParentPrices", "PlanPrice", "PriceListError", "Priced",
    "Typed", "assign", "check_name", "clear_entry", "create_list", "delete_list",
    "discounted", "list_price", "margins", "owner_id_of", "parse_entry", "parse_percent",
    "price_for", "rename_list", "set_entry", "set_list_percent",
]  # fmt: skip


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
    cost = await cost_for(session, owner_id, plan)
    if price is not None and price < cost:
        raise PriceListError(
            "below_cost",
            f"{plan.code} costs you {format_number(cost)}; the price must be at least that",
            plan=plan.name,
            minimum=cost,
        )
    # No percentage off is the base price, whatever the parent's cost: a child never pays
    # less than its parent (``price_for``), so a list may start there.
    if percent_off and discounted(plan.price, percent_off) < cost:
        most = max_percent(plan.price, cost)
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
        for plan in await offered_plans(session):
            await _check_floor(session, owner_id, plan, percent_off=percent_off)
        row = PriceList(name=name, owner_id=owner_id, percent_off=percent_off, created_at=now)
        session.add(row)
        await session.flush()
        await admin_log.record(
            session, actor=actor, action="price_list_added", now=now, reseller_id=owner_id,
            after=_logged(row),
        )  # fmt: skip
        return await list_view(session, row)


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
        row = await own_list(session, list_id, owner_id, lock=True)
        if row.name != name:
            await _name_free(session, owner_id, name, but=row.id)
            before = _logged(row)
            row.name = name
            await admin_log.record(
                session, actor=actor, action="price_list_renamed", now=now,
                reseller_id=owner_id, before=before, after=_logged(row),
            )  # fmt: skip
        return await list_view(session, row)


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
        row = await own_list(session, list_id, owner_id, lock=True)
        entries = await entries_of(session, row.id)
        for plan in await offered_plans(session):
            if plan.id not in entries:
                await _check_floor(session, owner_id, plan, percent_off=percent_off)
        if row.percent_off != percent_off:
            before = _logged(row)
            row.percent_off = percent_off
            await admin_log.record(
                session, actor=actor, action="price_list_percent", now=now,
                reseller_id=owner_id, before=before, after=_logged(row),
            )  # fmt: skip
        return await list_view(session, row)


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
        row = await own_list(session, list_id, owner_id, lock=True)
        view = await list_view(session, row)
        if view.resellers:
            raise PriceListError(
                "list_in_use",
                f"{view.resellers} reseller(s) are on {row.name}; move them first",
                name=row.name,
                count=view.resellers,
            )
        entries = await entries_of(session, row.id)
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
        row = await own_list(session, list_id, owner_id, lock=True)
        plan = await _plan(session, plan_id)
        await _check_floor(session, owner_id, plan, price=price, percent_off=percent_off)
        entry = (await entries_of(session, row.id)).get(plan.id)
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
        return await list_card(session, row)


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
        row = await own_list(session, list_id, owner_id, lock=True)
        plan = await _plan(session, plan_id)
        entry = (await entries_of(session, row.id)).get(plan.id)
        if entry is not None:
            await _check_floor(session, owner_id, plan, percent_off=row.percent_off)
            await admin_log.record(
                session, actor=actor, action="price_entry_cleared", now=now,
                reseller_id=owner_id, before=_entry_logged(row, plan, entry),
            )  # fmt: skip
            await session.delete(entry)
            await session.flush()
        return await list_card(session, row)


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
