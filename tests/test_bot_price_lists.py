"""Price lists in chat: an admin sets up "Gold -10%" and puts a reseller on it, who then
sells at that price (screens, order and ledger agree); a price changed between the
confirmation and the tap; a parent pricing its sub-reseller at or above its own cost;
forged buttons for lists and resellers that are not the tapper's."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update

from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, plans, price_list_reads, price_lists, roles, sale_quotes, sales
from bot.services.provisioning import LocalProvider
from bot.services.resellers import require_by_telegram_id
from bot.services.roles import Permission
from handlers.admin import callbacks as admin_callbacks
from handlers.sale import callbacks as sale_callbacks
from models import AdminAction, PriceList, PriceListEntry, Reseller, SubscriptionOrder
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, now

ALICE, BOB, CAROL, DAVE = 1001, 1002, 1003, 1004


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _refused(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    answered = await fake_api.answer(await fake_api.tap(user, event, data))
    assert answered.get("show_alert"), answered
    assert fake_api.unread(user.id) == []
    return answered


async def _say(fake_api: FakeBotAPI, user: User, text: str) -> Event:
    await fake_api.send(user, text)
    return await fake_api.next_event(user.id)


async def _plans(db: Database) -> tuple[int, int]:
    month = await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_000)
    year = await plans.add_plan(db, code="iptv-1y", name="IPTV 1 year", days=365, price=9_000)
    return month.id, year.id


async def _available(db: Database, telegram_id: int) -> int:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return (await ledger.balance(session, reseller.account_id)).available


async def _to_confirmation(fake_api: FakeBotAPI, user: User, username: str) -> Event:
    await fake_api.send(user, "/activate")
    await fake_api.next_event(user.id)
    picker = await _say(fake_api, user, username)
    assert "8.50" in str(picker.buttons) or "9.00" in str(picker.buttons), picker.buttons
    return await _tap(fake_api, user, picker, picker.button("1 month"))


async def test_an_admin_sets_up_gold_and_the_reseller_is_charged_its_price(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    month, _ = await _plans(db)
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    boss, alice = fake_api.user(ADMIN_ID, "Boss"), fake_api.user(ALICE, "Alice")

    menu = await _say(fake_api, boss, "/catalogue")
    home = await _tap(fake_api, boss, menu, menu.button("Price lists"))
    assert "No price lists yet" in home.text
    ask = await _tap(fake_api, boss, home, home.button("New price list"))
    assert "Send its name" in ask.text
    ask = await _say(fake_api, boss, "Gold -10%")
    assert "How much off" in ask.text
    refused = await _say(fake_api, boss, "100")
    assert "up to (not including) 100" in refused.text
    card = await _say(fake_api, boss, "10")
    assert "Price list Gold -10% created" in card.text
    assert "base 10.00 credits → <b>9.00 credits</b>" in card.text
    assert "base 90.00 credits → <b>81.00 credits</b>" in card.text

    ask = await _tap(fake_api, boss, card, card.button("IPTV 1 month"))
    assert "for example <code>10%</code>" in ask.text
    for bad in ("8.505", "-3", "abc"):
        assert "not a price or a percentage" in (await _say(fake_api, boss, bad)).text
    card = await _say(fake_api, boss, "8.50")
    assert "IPTV 1 month now costs 8.50 credits" in card.text
    assert "<b>8.50 credits</b> (fixed)" in card.text

    await fake_api.send(boss, "/resellers")
    listing = await fake_api.next_event(boss.id)
    reseller_card = await _tap(fake_api, boss, listing, admin_callbacks.CARD.build(ALICE))
    chooser = await _tap(fake_api, boss, reseller_card, reseller_card.button("Price list"))
    assert "Now: base prices" in chooser.text
    chooser = await _tap(fake_api, boss, chooser, chooser.button("Gold"))
    assert "Alice is now on Gold -10%" in chooser.text
    assert ("✅ Gold -10%", chooser.button("Gold")) in chooser.buttons
    home = await _tap(fake_api, boss, menu, menu.button("Price lists"))
    assert "Gold -10%: 10% off, 1 reseller" in home.text

    confirm = await _to_confirmation(fake_api, alice, "john.doe")
    assert "8.50" in confirm.text and "10.00" not in confirm.text
    done = await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    assert "Charged: 8.50 credits" in done.text
    async with db.transaction() as session:
        order = await session.scalar(select(SubscriptionOrder))
        gold = await session.scalar(select(PriceList))
        alice_row = await session.scalar(select(Reseller).where(Reseller.telegram_id == ALICE))
        logged = list(await session.scalars(select(AdminAction.action).order_by(AdminAction.id)))
    assert order is not None and order.price == 850 and order.plan_id == month
    assert gold is not None and alice_row is not None and alice_row.price_list_id == gold.id
    assert [a for a in logged if a.startswith("price")] == [
        "price_list_added", "price_entry_set", "price_list_assigned",
    ]  # fmt: skip
    assert await _available(db, ALICE) == 5_000 - 850
    await assert_audit_ok(db)


async def test_a_price_changed_after_the_confirmation_is_shown_before_charging(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    month, _ = await _plans(db)
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    alice = fake_api.user(ALICE, "Alice")
    gold = await price_lists.create_list(db, name="Gold", actor="cli", now=now())
    await price_lists.set_entry(
        db, list_id=gold.id, plan_id=month, price=850, actor="cli", now=now()
    )
    await price_lists.assign(
        db, reseller_telegram_id=ALICE, list_id=gold.id, actor="cli", now=now()
    )

    confirm = await _to_confirmation(fake_api, alice, "john.doe")
    assert "8.50 credits" in confirm.text
    await price_lists.set_entry(
        db, list_id=gold.id, plan_id=month, price=900, actor="cli", now=now()
    )
    again = await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    assert "has changed to 9.00 credits; nothing was charged" in again.text
    assert "Cost: <b>9.00 credits</b>" in again.text
    async with db.transaction() as session:
        assert await session.scalar(select(SubscriptionOrder)) is None
    assert await _available(db, ALICE) == 5_000
    done = await _tap(fake_api, alice, again, again.key("✅ Confirm"))
    assert "Charged: 9.00 credits" in done.text
    async with db.transaction() as session:
        order = await session.scalar(select(SubscriptionOrder))
    assert order is not None and order.price == 900
    assert await _available(db, ALICE) == 4_100
    await assert_audit_ok(db)


async def _family(db: Database) -> None:
    """Alice (on Gold: 8.50 a month) may have sub-resellers: Bob is hers. Carol is another
    parent; Dave is nobody's."""
    month, _ = await _plans(db)
    for tid, name in ((ALICE, "Alice"), (BOB, "Bob"), (CAROL, "Carol"), (DAVE, "Dave")):
        await make_reseller(db, tid, name=name, credit=5_000)
    async with db.transaction() as session:
        alice = await session.scalar(select(Reseller.id).where(Reseller.telegram_id == ALICE))
        await session.execute(
            update(Reseller)
            .where(Reseller.telegram_id.in_([ALICE, CAROL]))
            .values(downline_depth=1)
        )
        await session.execute(
            update(Reseller).where(Reseller.telegram_id == BOB).values(parent_id=alice)
        )
    gold = await price_lists.create_list(db, name="Gold", actor="cli", now=now())
    await price_lists.set_entry(
        db, list_id=gold.id, plan_id=month, price=850, actor="cli", now=now()
    )
    await price_lists.assign(
        db, reseller_telegram_id=ALICE, list_id=gold.id, actor="cli", now=now()
    )


async def test_a_parent_prices_its_child_at_or_above_its_own_cost(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await _family(db)
    alice = fake_api.user(ALICE, "Alice")
    home = await _say(fake_api, alice, "/prices")
    assert "What you pay for each plan" in home.text and "IPTV 1 month: 8.50 credits" in home.text
    assert "Bob: base prices" in str(home.buttons)
    await _tap(fake_api, alice, home, home.button("New price list"))
    await _say(fake_api, alice, "Kids")
    too_much = await _say(fake_api, alice, "20")
    assert (
        "below your own cost, 8.50 credits" in too_much.text
        and "at most 15.05% off" in too_much.text
    )
    # The year plan costs Alice its base price: no percentage off it keeps her cost.
    assert "at most 0% off" in (await _say(fake_api, alice, "5")).text
    card = await _say(fake_api, alice, "0")
    assert "base 10.00 credits, your cost 8.50 credits → <b>10.00 credits</b>" in card.text

    ask = await _tap(fake_api, alice, card, card.button("IPTV 1 month"))
    assert "cannot be below your own cost, 8.50 credits" in ask.text
    below = await _say(fake_api, alice, "8.49")
    assert "the price must be at least 8.50 credits" in below.text
    async with db.transaction() as session:
        assert list(await session.scalars(select(PriceListEntry.price))) == [850]  # Gold's only
    card = await _say(fake_api, alice, "8.50")
    assert "IPTV 1 month now costs 8.50 credits" in card.text

    home = await _say(fake_api, alice, "/prices")
    chooser = await _tap(fake_api, alice, home, home.button("Bob"))
    chooser = await _tap(fake_api, alice, chooser, chooser.button("Kids"))
    assert "Bob is now on Kids" in chooser.text
    bob = fake_api.user(BOB, "Bob")
    confirm = await _to_confirmation(fake_api, bob, "bobs.one")
    assert "8.50 credits" in confirm.text
    done = await _tap(fake_api, bob, confirm, confirm.key("✅ Confirm"))
    assert "Charged: 8.50 credits" in done.text
    await assert_audit_ok(db)


async def test_forged_price_list_buttons_are_refused_and_change_nothing(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await _family(db)
    month = (await sale_quotes.active_plans(db))[0].id
    carols = await price_lists.create_list(
        db, name="Carol's", parent_telegram_id=CAROL, actor=f"tg:{CAROL}", now=now()
    )
    alices = await price_lists.create_list(
        db, name="Alice's", parent_telegram_id=ALICE, actor=f"tg:{ALICE}", now=now()
    )
    gold = (await price_list_reads.lists(db))[0]
    alice, dave = fake_api.user(ALICE, "Alice"), fake_api.user(DAVE, "Dave")
    home = await _say(fake_api, alice, "/prices")
    for data in (
        f"pl:p:c:{carols.id}", f"pl:p:set:{carols.id}:{month}", f"pl:p:clr:{carols.id}:{month}",
        f"pl:p:ren:{carols.id}", f"pl:p:dely:{carols.id}", f"pl:p:c:{gold.id}",
        f"pl:p:rs:{DAVE}", f"pl:p:put:{DAVE}:{alices.id}", f"pl:p:put:{BOB}:{carols.id}",
        f"pl:p:put:{BOB}:{gold.id}", "pl:a:h", f"pl:a:put:{BOB}:{gold.id}",
    ):  # fmt: skip
        await _refused(fake_api, alice, home, data)
    # A reseller allowed no sub-resellers has no lists to open or make.
    assert "allowed sub-resellers" in (await _say(fake_api, dave, "/prices")).text
    await _refused(fake_api, dave, home, "pl:p:new")
    async with db.transaction() as session:
        on_lists = list(await session.scalars(select(Reseller.price_list_id).order_by(Reseller.id)))
        names = sorted(await session.scalars(select(PriceList.name)))
    assert on_lists == [gold.id, None, None, None]
    assert names == ["Alice's", "Carol's", "Gold"]


async def test_the_renewal_a_customer_asked_for_is_confirmed_and_charged_at_the_list_price(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    month, _ = await _plans(db)
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    sold = await sales.sell(
        db, LocalProvider(), telegram_id=ALICE, plan_id=month, key="first", now=now(),
        provider_seconds=5, username="john.doe",
    )  # fmt: skip
    assert sold.price == 1_000  # before Alice was put on a list
    gold = await price_lists.create_list(db, name="Gold", percent_off=1_500, actor="cli", now=now())
    await price_lists.assign(
        db, reseller_telegram_id=ALICE, list_id=gold.id, actor="cli", now=now()
    )
    alice = fake_api.user(ALICE, "Alice")
    menu = await _say(fake_api, alice, "/start")
    # The one-tap Renew under the customer's request (jobs/notices.py builds it).
    confirm = await _tap(
        fake_api, alice, menu, sale_callbacks.RENEW_REQUESTED.build(sold.customer.id, month)
    )
    assert "Cost: <b>8.50 credits</b>" in confirm.text
    done = await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    assert "Charged: 8.50 credits" in done.text
    async with db.transaction() as session:
        prices = list(
            await session.scalars(select(SubscriptionOrder.price).order_by(SubscriptionOrder.id))
        )
    assert prices == [1_000, 850]
    assert await _available(db, ALICE) == 5_000 - 1_850
    await assert_audit_ok(db)


async def test_deleting_a_list_is_refused_while_used_and_happens_once(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await _plans(db)
    await make_reseller(db, ALICE, name="Alice")
    gold = await price_lists.create_list(db, name="Gold", actor="cli", now=now())
    await price_lists.assign(
        db, reseller_telegram_id=ALICE, list_id=gold.id, actor="cli", now=now()
    )
    await roles.add_staff(
        db, telegram_id=905, name="Sam", permissions=[Permission.TOPUPS],
        owner_ids={ADMIN_ID}, actor="cli", now=now(),
    )  # fmt: skip
    boss, sam = fake_api.user(ADMIN_ID, "Boss"), fake_api.user(905, "Sam")
    menu = await _say(fake_api, boss, "/catalogue")
    home = await _tap(fake_api, boss, menu, menu.button("Price lists"))
    card = await _tap(fake_api, boss, home, home.button("Gold"))
    ask = await _tap(fake_api, boss, card, card.button("Delete"))
    assert "Delete the price list Gold?" in ask.text
    yes = ask.button("Yes, delete")
    refused = await _refused(fake_api, boss, ask, yes)
    assert "1 reseller is on this list" in refused["text"]
    # A staff admin without the catalogue permission opens and changes nothing.
    sams = await _say(fake_api, sam, "/start")
    for data in ("pl:a:h", f"pl:a:c:{gold.id}", yes, f"pl:a:put:{ALICE}:0"):
        assert "permission" in (await _refused(fake_api, sam, sams, data))["text"]
    await price_lists.assign(db, reseller_telegram_id=ALICE, list_id=None, actor="cli", now=now())
    home = await _tap(fake_api, boss, ask, yes)
    assert "Price list Gold deleted" in home.text and "No price lists yet" in home.text
    assert "no longer exists" in (await _refused(fake_api, boss, ask, yes))["text"]
    async with db.transaction() as session:
        removed = await session.scalar(
            select(func.count()).where(AdminAction.action == "price_list_removed")
        )
    assert removed == 1
