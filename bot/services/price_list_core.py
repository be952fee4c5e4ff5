"""What a reseller pays for a plan, and which lists an actor may touch: the core the
price-list changes (``bot.services.price_lists``) and reads (``price_list_reads``) share."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.price_list_rules import (
    ListCard,
    ListView,
    PlanPrice,
    Priced,
    PriceListError,
    discounted,
)
from models import Plan, PriceList, PriceListEntry, Reseller, ResellerStatus

# --- what a reseller pays -----------------------------------------------------------------


async def entries_of(session: AsyncSession, list_id: int) -> dict[int, PriceListEntry]:
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


async def margins(
    session: AsyncSession, seller_id: int, plan: Priced, charged: int
) -> list[tuple[int, int]]:
    """What each ancestor of a seller earns on a sale charged ``charged``: the price its
    child on the way down paid, less its own price (``(reseller id, amount)``, nothing for
    a margin of zero). In all never more than was charged less the top ancestor's price."""
    earned: list[tuple[int, int]] = []
    paid, seen = charged, {seller_id}
    row = await session.get(Reseller, seller_id)
    while row is not None and row.parent_id is not None and row.parent_id not in seen:
        seen.add(row.parent_id)
        row = await session.get(Reseller, row.parent_id)
        if row is None:
            break
        own = await price_for(session, row.id, plan)
        if paid > own:
            earned.append((row.id, paid - own))
        paid = min(paid, own)
    return earned


# --- who may change which list -----------------------------------------------------------


async def parent_of(session: AsyncSession, telegram_id: int) -> Reseller:
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
    return (await parent_of(session, parent_telegram_id)).id


async def own_list(
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


async def list_view(session: AsyncSession, row: PriceList) -> ListView:
    return ListView(row.id, row.name, row.owner_id, row.percent_off, await _count(session, row.id))


async def cost_for(session: AsyncSession, owner_id: int | None, plan: Plan) -> int:
    """What the list's owner pays for ``plan``: a floor for the prices on its lists."""
    if owner_id is None:
        return plan.price
    return await price_for(session, owner_id, plan)


async def offered_plans(session: AsyncSession) -> list[Plan]:
    return list(
        await session.scalars(
            select(Plan).where(Plan.active.is_(True)).order_by(Plan.position, Plan.id)
        )
    )


# --- a list as its screen shows it ------------------------------------------------------


async def list_card(session: AsyncSession, row: PriceList) -> ListCard:
    entries = await entries_of(session, row.id)
    shown = []
    for plan in await offered_plans(session):
        entry = entries.get(plan.id)
        cost = await cost_for(session, row.owner_id, plan)
        listed = _on_list(plan.price, row.percent_off, entry)
        shown.append(
            PlanPrice(
                plan.id, plan.code, plan.name, plan.price, cost,
                # What a child on it pays: never less than its parent's cost.
                max(listed, cost) if row.owner_id is not None else listed,
                entry.price if entry else None,
                entry.percent_off if entry else None,
            )
        )  # fmt: skip
    return ListCard(await list_view(session, row), tuple(shown))
