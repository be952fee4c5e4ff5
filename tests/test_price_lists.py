"""Price lists in the service: what a reseller pays, rounding, a parent's floor, who may
change which list, and a list that cannot go while resellers are on it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.services import (
    admin_log,
    ledger,
    plans,
    price_list_reads,
    price_lists,
    sale_errors,
    sale_quotes,
    sale_settlement,
    sales,
)
from bot.services.price_lists import PriceListError, discounted, parse_entry, parse_percent
from bot.services.provisioning import LocalProvider
from models import AdminAction, Plan, PriceListEntry, Reseller, SubscriptionOrder, SystemAccount
from tests.helpers import assert_audit_ok, make_reseller, now

BOSS = "tg:900"
ALICE, BOB, CAROL, DAVE = 1001, 1002, 1003, 1004


async def _plan(db: Database, code: str = "iptv-1m", price: int = 1_000) -> int:
    return (await plans.add_plan(db, code=code, name=code.upper(), days=30, price=price)).id


async def _pays(db: Database, telegram_id: int, plan_id: int) -> int:
    async with db.transaction() as session:
        reseller = await session.scalar(select(Reseller).where(Reseller.telegram_id == telegram_id))
        plan = await session.get(Plan, plan_id)
        assert reseller is not None and plan is not None
        return await price_lists.price_for(session, reseller.id, plan)


async def _tree(db: Database) -> None:
    """Alice may have sub-resellers; Bob and Carol are hers; Dave is nobody's."""
    for tid, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (DAVE, "Dave")):
        await make_reseller(db, tid, name=name)
    async with db.transaction() as session:
        alice = await session.scalar(select(Reseller.id).where(Reseller.telegram_id == ALICE))
        await session.execute(
            update(Reseller).where(Reseller.telegram_id == ALICE).values(downline_depth=1)
        )
        await session.execute(
            update(Reseller).where(Reseller.telegram_id.in_([BOB, CAROL])).values(parent_id=alice)
        )


def test_a_percentage_off_is_rounded_half_up_and_never_below_a_hundredth() -> None:
    assert discounted(1_000, 1_000) == 900  # 10.00 - 10 % = 9.00
    assert discounted(999, 1_250) == 874  # 8.74125 -> 8.74
    assert discounted(1_001, 5_000) == 501  # 5.005 -> 5.01
    assert discounted(1, 9_999) == 1  # never below 0.01
    assert discounted(1_000, 0) == 1_000


def test_typed_prices_and_percentages_are_parsed_or_refused() -> None:
    assert parse_entry("12.50") == price_lists.Typed(price=1_250)
    assert parse_entry("10%") == price_lists.Typed(percent_off=1_000)
    assert parse_entry(" 12,5 % ") == price_lists.Typed(percent_off=1_250)
    assert parse_percent("0") == 0 and parse_percent("۰") == 0
    for bad in ("100%", "-5", "abc", "1.234", "150%", "0"):
        with pytest.raises(PriceListError):
            parse_entry(bad)


async def test_a_reseller_pays_the_entry_else_the_lists_percentage_else_the_base(
    db: Database,
) -> None:
    month, year = await _plan(db), await _plan(db, "iptv-1y", 9_999)
    other = await _plan(db, "vpn-1m", 500)
    await make_reseller(db, ALICE)
    assert await _pays(db, ALICE, month) == 1_000  # on no list: the base price
    gold = await price_lists.create_list(
        db, name="Gold -10%", percent_off=1_000, actor=BOSS, now=now()
    )
    await price_lists.set_entry(
        db, list_id=gold.id, plan_id=month, price=850, actor=BOSS, now=now()
    )
    await price_lists.set_entry(
        db, list_id=gold.id, plan_id=other, percent_off=2_000, actor=BOSS, now=now()
    )
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=gold.id, actor=BOSS, now=now())
    assert await _pays(db, ALICE, month) == 850  # the fixed price
    assert await _pays(db, ALICE, year) == 8_999  # 99.99 - 10 % = 89.991 -> 89.99
    assert await _pays(db, ALICE, other) == 400  # the entry's own 20 %
    card = await price_lists.clear_entry(db, list_id=gold.id, plan_id=month, actor=BOSS, now=now())
    assert [(p.code, p.base, p.price) for p in card.plans] == [
        ("iptv-1m", 1_000, 900), ("iptv-1y", 9_999, 8_999), ("vpn-1m", 500, 400),
    ]  # fmt: skip
    # The sale's plan screen and quote use the same price.
    offered = {p.id: p.price for p in await sale_quotes.active_plans(db, ALICE)}
    assert offered[month] == 900
    assert (await sale_quotes.quote(db, telegram_id=ALICE, plan_id=month, now=now())).price == 900
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=None, actor=BOSS, now=now())
    assert await _pays(db, ALICE, month) == 1_000


async def test_every_change_is_in_the_action_log_with_before_and_after(db: Database) -> None:
    month = await _plan(db)
    await make_reseller(db, ALICE)
    gold = await price_lists.create_list(db, name="Gold", actor=BOSS, now=now())
    await price_lists.rename_list(db, list_id=gold.id, name="Gold+", actor=BOSS, now=now())
    await price_lists.set_list_percent(db, list_id=gold.id, percent_off=500, actor=BOSS, now=now())
    await price_lists.set_entry(
        db, list_id=gold.id, plan_id=month, price=800, actor=BOSS, now=now()
    )
    await price_lists.clear_entry(db, list_id=gold.id, plan_id=month, actor=BOSS, now=now())
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=gold.id, actor=BOSS, now=now())
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=None, actor=BOSS, now=now())
    await price_lists.delete_list(db, list_id=gold.id, actor=BOSS, now=now())
    async with db.transaction() as session:
        rows = list(await session.scalars(select(AdminAction).order_by(AdminAction.id)))
    assert [r.action for r in rows if r.action.startswith("price")] == [
        "price_list_added", "price_list_renamed", "price_list_percent", "price_entry_set",
        "price_entry_cleared", "price_list_assigned", "price_list_assigned",
        "price_list_removed",
    ]  # fmt: skip
    renamed = json.loads(next(r.details for r in rows if r.action == "price_list_renamed") or "")
    assert renamed["before"]["list"] == "Gold" and renamed["after"]["list"] == "Gold+"
    assert all(r.actor == BOSS for r in rows if r.action.startswith("price"))
    # Each is a kind the log's filter knows.
    assert {r.action for r in rows if r.action.startswith("price")} <= set(admin_log.KINDS)


async def test_a_list_cannot_be_deleted_while_resellers_are_on_it(db: Database) -> None:
    month = await _plan(db)
    await make_reseller(db, ALICE)
    gold = await price_lists.create_list(db, name="Gold", actor=BOSS, now=now())
    await price_lists.set_entry(
        db, list_id=gold.id, plan_id=month, price=800, actor=BOSS, now=now()
    )
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=gold.id, actor=BOSS, now=now())
    with pytest.raises(PriceListError) as refused:
        await price_lists.delete_list(db, list_id=gold.id, actor=BOSS, now=now())
    assert refused.value.code == "list_in_use" and refused.value.params["count"] == 1
    assert [v.resellers for v in await price_list_reads.lists(db)] == [1]
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=None, actor=BOSS, now=now())
    await price_lists.delete_list(db, list_id=gold.id, actor=BOSS, now=now())
    assert await price_list_reads.lists(db) == []
    async with db.transaction() as session:
        assert list(await session.scalars(select(PriceListEntry))) == []


async def test_names_are_unique_per_owner_and_bad_values_change_nothing(db: Database) -> None:
    await price_lists.create_list(db, name="Gold", actor=BOSS, now=now())
    for name, percent, code in (
        ("gold", 0, "name_taken"), ("", 0, "bad_name"), ("x" * 65, 0, "bad_name"),
        ("Silver", 10_000, "bad_percent"), ("Silver", -1, "bad_percent"),
    ):  # fmt: skip
        with pytest.raises(PriceListError) as refused:
            await price_lists.create_list(db, name=name, percent_off=percent, actor=BOSS, now=now())
        assert refused.value.code == code
    assert [v.name for v in await price_list_reads.lists(db)] == ["Gold"]


async def test_a_parent_prices_its_lists_at_or_above_its_own_cost(db: Database) -> None:
    month = await _plan(db)
    await _tree(db)
    gold = await price_lists.create_list(db, name="Gold", percent_off=2_000, actor=BOSS, now=now())
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=gold.id, actor=BOSS, now=now())
    assert await _pays(db, ALICE, month) == 800
    mine = await price_lists.create_list(
        db, name="Kids", parent_telegram_id=ALICE, actor=f"tg:{ALICE}", now=now()
    )
    with pytest.raises(PriceListError) as refused:
        await price_lists.set_entry(
            db, list_id=mine.id, plan_id=month, price=799, parent_telegram_id=ALICE,
            actor=f"tg:{ALICE}", now=now(),
        )  # fmt: skip
    assert refused.value.code == "below_cost" and refused.value.params["minimum"] == 800
    with pytest.raises(PriceListError) as refused:
        await price_lists.set_entry(
            db, list_id=mine.id, plan_id=month, percent_off=2_006, parent_telegram_id=ALICE,
            actor=f"tg:{ALICE}", now=now(),
        )  # fmt: skip
    assert refused.value.code == "percent_too_high" and refused.value.params["maximum"] == 2_005
    with pytest.raises(PriceListError) as refused:
        await price_lists.create_list(
            db, name="Cheap", percent_off=2_500, parent_telegram_id=ALICE,
            actor=f"tg:{ALICE}", now=now(),
        )  # fmt: skip
    assert refused.value.code == "percent_too_high"
    card = await price_lists.set_entry(
        db, list_id=mine.id, plan_id=month, price=800, parent_telegram_id=ALICE,
        actor=f"tg:{ALICE}", now=now(),
    )  # fmt: skip
    assert [(p.cost, p.price) for p in card.plans] == [(800, 800)]
    await price_lists.assign(
        db, reseller_telegram_id=BOB, list_id=mine.id, parent_telegram_id=ALICE,
        actor=f"tg:{ALICE}", now=now(),
    )  # fmt: skip
    assert await _pays(db, BOB, month) == 800


async def test_a_child_never_pays_less_than_its_parent_after_the_parents_price_rises(
    db: Database,
) -> None:
    month = await _plan(db)
    await _tree(db)
    gold = await price_lists.create_list(db, name="Gold", percent_off=2_000, actor=BOSS, now=now())
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=gold.id, actor=BOSS, now=now())
    kids = await price_lists.create_list(
        db, name="Kids", parent_telegram_id=ALICE, actor=f"tg:{ALICE}", now=now()
    )
    await price_lists.set_entry(
        db, list_id=kids.id, plan_id=month, price=850, parent_telegram_id=ALICE,
        actor=f"tg:{ALICE}", now=now(),
    )  # fmt: skip
    await price_lists.assign(
        db, reseller_telegram_id=BOB, list_id=kids.id, parent_telegram_id=ALICE,
        actor=f"tg:{ALICE}", now=now(),
    )  # fmt: skip
    assert await _pays(db, BOB, month) == 850
    # Alice goes back to base prices: 10.00 is now above what Bob's list says.
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=None, actor=BOSS, now=now())
    assert await _pays(db, BOB, month) == 1_000
    # Even on the business's cheapest list, a child pays at least its parent's price.
    await price_lists.assign(db, reseller_telegram_id=CAROL, list_id=gold.id, actor=BOSS, now=now())
    assert await _pays(db, CAROL, month) == 1_000


async def test_a_parent_only_touches_its_own_lists_and_children(db: Database) -> None:
    month = await _plan(db)
    await _tree(db)
    business = await price_lists.create_list(db, name="Gold", actor=BOSS, now=now())
    kids = await price_lists.create_list(
        db, name="Kids", parent_telegram_id=ALICE, actor=f"tg:{ALICE}", now=now()
    )
    alice: dict[str, Any] = {"parent_telegram_id": ALICE, "actor": f"tg:{ALICE}", "now": now()}
    refusals = [
        price_lists.set_entry(db, list_id=business.id, plan_id=month, price=2_000, **alice),
        price_lists.rename_list(db, list_id=business.id, name="Mine", **alice),
        price_lists.delete_list(db, list_id=business.id, **alice),
        price_lists.assign(db, reseller_telegram_id=BOB, list_id=business.id, **alice),
        price_lists.assign(db, reseller_telegram_id=DAVE, list_id=kids.id, **alice),
        price_lists.assign(db, reseller_telegram_id=DAVE, list_id=None, **alice),
        # Someone who may not have sub-resellers keeps no lists.
        price_lists.create_list(
            db, name="Mine", parent_telegram_id=BOB, actor=f"tg:{BOB}", now=now()
        ),
        # An admin cannot put a stranger on a parent's list, nor edit it as the business's.
        price_lists.assign(db, reseller_telegram_id=DAVE, list_id=kids.id, actor=BOSS, now=now()),
        price_lists.rename_list(db, list_id=kids.id, name="X", actor=BOSS, now=now()),
    ]
    codes = []
    for attempt in refusals:
        with pytest.raises(PriceListError) as refused:
            await attempt
        codes.append(refused.value.code)
    assert codes == [
        "no_list", "no_list", "no_list", "no_list", "no_reseller", "no_reseller",
        "not_a_parent", "no_list", "no_list",
    ]  # fmt: skip
    assert [v.name for v in await price_list_reads.lists(db, parent_telegram_id=ALICE)] == ["Kids"]
    assert [v.name for v in await price_list_reads.lists(db)] == ["Gold"]
    # The admin may put Alice's child on Alice's list; the chooser offers it.
    await price_lists.assign(db, reseller_telegram_id=BOB, list_id=kids.id, actor=BOSS, now=now())
    who, options = await price_list_reads.member(db, reseller_telegram_id=BOB)
    assert who.list_name == "Kids" and [o.name for o in options] == ["Gold", "Kids"]
    prices = await price_list_reads.parent_prices(db, parent_telegram_id=ALICE)
    assert [(c.name, c.list_name) for c in prices.children] == [("Bob", "Kids"), ("Carol", None)]


async def test_activation_and_renewal_charge_the_list_price_and_record_it_on_the_order(
    db: Database,
) -> None:
    month = await _plan(db)
    alice = await make_reseller(db, ALICE, credit=5_000)
    gold = await price_lists.create_list(db, name="Gold", percent_off=1_500, actor=BOSS, now=now())
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=gold.id, actor=BOSS, now=now())

    async def sell(key: str, **kwargs: Any) -> sale_settlement.SaleResult:
        return await sales.sell(
            db, LocalProvider(), telegram_id=ALICE, plan_id=month, key=key, now=now(),
            provider_seconds=5, **kwargs,
        )  # fmt: skip

    with pytest.raises(sale_errors.PriceChanged):  # the base price was on screen, not hers
        await sell("n0", username="john", expected_price=1_000)
    sold = await sell("n1", username="john", expected_price=850)
    # The renewal a customer asked for is the same sale on its customer (one tap, then
    # the confirmation), so it is charged the same way.
    renewed = await sell("n2", customer_id=sold.customer.id, expected_price=850)
    assert (sold.price, renewed.price) == (850, 850)
    async with db.transaction() as session:
        orders = list(await session.scalars(select(SubscriptionOrder.price)))
        balance = await ledger.balance(session, alice.account_id)
    assert orders == [850, 850] and balance.balance == 5_000 - 1_700


async def test_each_parent_up_the_tree_earns_its_childs_price_less_its_own(db: Database) -> None:
    month = await _plan(db)  # base 10.00
    alice = await make_reseller(db, ALICE, name="Alice")
    bob = await make_reseller(db, BOB, name="Bob")
    carol = await make_reseller(db, CAROL, name="Carol", credit=2_000)
    async with db.transaction() as session:
        await session.execute(
            update(Reseller).where(Reseller.id == alice.id).values(downline_depth=2)
        )
        await session.execute(
            update(Reseller)
            .where(Reseller.id == bob.id)
            .values(parent_id=alice.id, downline_depth=1)
        )
        await session.execute(
            update(Reseller).where(Reseller.id == carol.id).values(parent_id=bob.id)
        )
    for parent, child, price in ((ALICE, BOB, 1_200), (BOB, CAROL, 1_500)):
        own = await price_lists.create_list(
            db, name="Mine", parent_telegram_id=parent, actor=f"tg:{parent}", now=now()
        )
        await price_lists.set_entry(
            db, list_id=own.id, plan_id=month, price=price, parent_telegram_id=parent,
            actor=f"tg:{parent}", now=now(),
        )  # fmt: skip
        await price_lists.assign(
            db, reseller_telegram_id=child, list_id=own.id, parent_telegram_id=parent,
            actor=f"tg:{parent}", now=now(),
        )  # fmt: skip

    async def sell(key: str, **kwargs: Any) -> sale_settlement.SaleResult:
        return await sales.sell(
            db, LocalProvider(), telegram_id=CAROL, plan_id=month, key=key, now=now(),
            provider_seconds=5, expected_price=1_500, **kwargs,
        )  # fmt: skip

    sold = await sell("m1", username="viewer")
    await sell("m1", username="viewer")  # the same confirmation again: nothing more moves
    async with db.transaction() as session:
        balances = [
            (await ledger.balance(session, r.account_id)).balance for r in (alice, bob, carol)
        ]
        sales_account = await ledger.system_account_id(session, SystemAccount.SALES)
        kept = (await ledger.balance(session, sales_account)).balance
    # Carol paid 15.00: Bob earns 3.00 (15 - 12), Alice 2.00 (12 - 10), the business 10.00.
    assert sold.price == 1_500 and balances == [200, 300, 2_000 - 1_500] and kept == 1_000
    await assert_audit_ok(db)
