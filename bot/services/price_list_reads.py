"""Reading price lists: the lists of the business or of a parent, one list with each
plan's prices, the lists a reseller can be put on, and a parent's /prices. Scoped as the
changes are (``bot.services.price_lists``): a parent sees only its own lists and children.
"""

from __future__ import annotations

from sqlalchemy import func, select

from bot.db import Database
from bot.services.price_list_core import (
    list_card,
    list_view,
    offered_plans,
    own_list,
    owner_id_of,
    parent_of,
    price_for,
)
from bot.services.price_list_rules import (
    ListCard,
    ListView,
    Member,
    ParentPrices,
    PlanPrice,
    PriceListError,
)
from models import Plan, PriceList, Reseller


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
        return [await list_view(session, row) for row in rows]


async def card(db: Database, *, list_id: int, parent_telegram_id: int | None = None) -> ListCard:
    async with db.transaction() as session:
        owner_id = await owner_id_of(session, parent_telegram_id)
        return await list_card(session, await own_list(session, list_id, owner_id))


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
        return await list_view(session, row)


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
        options = [await list_view(session, row) for row in rows]
        current = await session.get(PriceList, who.price_list_id) if who.price_list_id else None
        return (
            Member(who.id, who.telegram_id, who.name, who.price_list_id,
                   current.name if current else None),
            options,
        )  # fmt: skip


async def parent_prices(db: Database, *, parent_telegram_id: int) -> ParentPrices:
    """A parent's own cost per plan, its lists and its children with the list each is on."""
    async with db.transaction() as session:
        parent = await parent_of(session, parent_telegram_id)
        costs = []
        for plan in await offered_plans(session):
            mine = await price_for(session, parent.id, plan)
            costs.append(
                PlanPrice(plan.id, plan.code, plan.name, plan.price, mine, mine, None, None)
            )
        rows = await session.scalars(
            select(PriceList)
            .where(PriceList.owner_id == parent.id)
            .order_by(func.lower(PriceList.name))
        )
        own = [await list_view(session, row) for row in rows]
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
