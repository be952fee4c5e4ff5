"""The resellers list and card in chat: search (after the command or from the Search
button), each filter, pages, the card's figures, edits with their bad inputs, history and
customers; nobody without the permission gets any of it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.context import BotApplication
from bot.db import Database
from bot.services import plans, resellers, roles, sales
from bot.services.provisioning import LocalProvider
from bot.services.reseller_search import Field, ListFilter
from bot.services.roles import Permission
from handlers.admin import callbacks
from handlers.admin import reseller_callbacks as buttons
from handlers.views import no_permission
from models import AdminAction, Billing, OutboxMessage, Reseller, ResellerStatus
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, now


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


@pytest.fixture
async def people(db: Database, fake_api: FakeBotAPI) -> None:
    await make_reseller(db, 1001, name="Alice", credit=5_000, threshold=10_000, username="alice_s")
    await make_reseller(
        db, 1002, name="Bob", billing=Billing.POSTPAID, credit_limit=20_000, username="bobby"
    )
    await make_reseller(db, 1003, name="Carol", credit=3_000)
    await resellers.set_status(
        db, telegram_id=1003, status=ResellerStatus.SUSPENDED, actor="test", now=now(),
        reason="Unpaid <bills>",
    )  # fmt: skip
    plan = await plans.add_plan(db, code="m1", name="Monthly", days=30, price=1_000)
    await sales.sell(
        db, LocalProvider(), telegram_id=1002, plan_id=plan.id, key="s1", now=now(),
        provider_seconds=5, username="bobs.customer",
    )  # fmt: skip
    for telegram_id in (1001, 1002, 1003):
        fake_api.user(telegram_id)


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    assert data in [d for _, d in event.buttons], f"{data} not on {event.buttons}"
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


def _names(event: Event) -> list[str]:
    return [text.removeprefix("👤 ") for text, data in event.buttons if data.startswith("adm:rs:")]


async def _card(fake_api: FakeBotAPI, boss: User, telegram_id: int) -> Event:
    await fake_api.send(boss, "/resellers")
    listing = await fake_api.next_event(boss.id)
    return await _tap(fake_api, boss, listing, callbacks.CARD.build(telegram_id))


@pytest.mark.usefixtures("people")
async def test_a_search_typed_after_the_command_or_sent_after_search_finds_them(
    fake_api: FakeBotAPI, boss: User
) -> None:
    await fake_api.send(boss, "/resellers ali")
    assert _names(await fake_api.next_event(boss.id)) == ["Alice"]
    await fake_api.send(boss, "/resellers @bobby")
    assert _names(await fake_api.next_event(boss.id)) == ["Bob"]
    await fake_api.send(boss, "/resellers 1003")
    found = await fake_api.next_event(boss.id)
    assert _names(found) == ["Carol"] and "Search: " in found.text
    await fake_api.send(boss, "/resellers nobody-like-this")
    none = await fake_api.next_event(boss.id)
    assert _names(none) == [] and "No reseller matches." in none.text

    prompt = await _tap(fake_api, boss, none, buttons.SEARCH.build())
    assert prompt.message["message_id"] == none.message["message_id"]
    assert "Send a name" in prompt.text
    await fake_api.send(boss, "bOb")
    result = await fake_api.next_event(boss.id)
    assert _names(result) == ["Bob"]
    cleared = await _tap(fake_api, boss, result, buttons.LIST.build(ListFilter.ALL, 0))
    assert _names(cleared) == ["Alice", "Bob", "Carol"]


@pytest.mark.usefixtures("people")
async def test_each_filter_shows_only_its_resellers_and_keeps_the_search(
    fake_api: FakeBotAPI, boss: User
) -> None:
    await fake_api.send(boss, "/resellers")
    listing = await fake_api.next_event(boss.id)
    expected = {
        ListFilter.PREPAID: ["Alice", "Carol"],
        ListFilter.POSTPAID: ["Bob"],
        ListFilter.SUSPENDED: ["Carol"],
        ListFilter.BELOW_THRESHOLD: ["Alice", "Bob"],  # 50.00 under 100.00; -10.00 under 0
        ListFilter.OWING: ["Bob"],
        ListFilter.ALL: ["Alice", "Bob", "Carol"],
    }
    for flt, names in expected.items():
        listing = await _tap(fake_api, boss, listing, buttons.LIST.build(flt, 0))
        assert _names(listing) == names, flt
    await fake_api.send(boss, "/resellers a")
    searched = await fake_api.next_event(boss.id)
    narrowed = await _tap(fake_api, boss, searched, buttons.LIST.build(ListFilter.PREPAID, 0, "a"))
    assert _names(narrowed) == ["Alice", "Carol"] and "Search: " in narrowed.text


async def test_the_list_pages_keep_the_filter_and_show_everyone_once(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    for i in range(20):
        await make_reseller(db, 5000 + i, name=f"Post {i:02d}", billing=Billing.POSTPAID)
    await make_reseller(db, 6000, name="Pre")
    await fake_api.send(boss, "/resellers")
    listing = await fake_api.next_event(boss.id)
    listing = await _tap(fake_api, boss, listing, buttons.LIST.build(ListFilter.POSTPAID, 0))
    first = _names(listing)
    assert len(first) == 15 and "page 1 of 2" in listing.text
    second = await _tap(fake_api, boss, listing, buttons.LIST.build(ListFilter.POSTPAID, 1))
    assert len(_names(second)) == 5 and "page 2 of 2" in second.text
    assert sorted(first + _names(second)) == [f"Post {i:02d}" for i in range(20)]
    back = await _tap(fake_api, boss, second, buttons.LIST.build(ListFilter.POSTPAID, 0))
    assert _names(back) == first


@pytest.mark.usefixtures("people")
async def test_the_card_shows_the_figures_history_and_customers(
    fake_api: FakeBotAPI, boss: User
) -> None:
    card = await _card(fake_api, boss, 1002)
    for part in (
        "Bob @bobby",
        "Type: postpaid",
        "Balance: -10.00 credits · held 0.00 credits",
        "Collection limit: 200.00 credits · owed 10.00 credits",
        "Low-balance alert below: 0.00 credits",
        "Customers: 1",
        "Sales this month: 1 (10.00 credits)",
        "Last activity: 20",
    ):
        assert part in card.text, part
    carol = await _card(fake_api, boss, 1003)
    assert "Status: <b>suspended</b>" in carol.text
    assert "Reason: Unpaid &lt;bills&gt;" in carol.text
    assert "Last activity: 20" in carol.text  # the credits granted

    history = await _tap(fake_api, boss, card, buttons.HISTORY.build(1002, 0))
    assert "Credit history" in history.text and "-10.00" in history.text
    back = await _tap(fake_api, boss, history, callbacks.CARD.build(1002))
    listed = await _tap(fake_api, boss, back, buttons.CUSTOMERS.build(1002, 0))
    assert "Customers of" in listed.text and "bobs.customer" in listed.text
    # Read-only: no button opens the customer.
    assert all(not data.startswith("cu:") for _, data in listed.buttons)


async def _edit(fake_api: FakeBotAPI, boss: User, telegram_id: int, field: Field) -> Event:
    card = await _card(fake_api, boss, telegram_id)
    menu = await _tap(fake_api, boss, card, buttons.EDIT_MENU.build(telegram_id))
    return await _tap(fake_api, boss, menu, buttons.EDIT.build(telegram_id, field))


async def _reseller(db: Database, telegram_id: int) -> Reseller:
    async with db.transaction() as session:
        found = await session.scalar(select(Reseller).where(Reseller.telegram_id == telegram_id))
    assert found is not None
    return found


@pytest.mark.usefixtures("people")
async def test_editing_the_limit_refuses_bad_amounts_then_saves_once_logged_and_told(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    prompt = await _edit(fake_api, boss, 1002, Field.LIMIT)
    assert "collection limit" in prompt.text
    for typed, problem in (
        ("100.005", "at most two decimals"),
        ("-5", "cannot be negative"),
        ("lots", "not a number"),
        ("9.99", "already use 10.00 credits"),  # less than what they owe
    ):
        await fake_api.send(boss, typed)
        again = await fake_api.next_event(boss.id)
        assert again.message["message_id"] == prompt.message["message_id"]
        assert problem in again.text, typed
    await fake_api.send(boss, "۳۰۰,۵")
    done = await fake_api.next_event(boss.id)
    assert "Saved" in done.text and "Collection limit: 300.50 credits" in done.text
    await fake_api.send(boss, "400")  # the flow is over: nothing more is saved
    await fake_api.next_event(boss.id)

    async with db.transaction() as session:
        logged = list(
            await session.scalars(
                select(AdminAction.details).where(AdminAction.action == "reseller_limit")
            )
        )
        told = list(
            await session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.kind == "reseller_changed")
            )
        )
    assert [json.loads(d or "null") for d in logged] == [
        {"before": {"limit": 20_000}, "after": {"limit": 30_050}}
    ]
    assert [json.loads(p) for p in told] == [{"field": "limit", "value": 30_050}]


@pytest.mark.usefixtures("people")
async def test_a_postpaid_reseller_who_owes_cannot_become_prepaid(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    prompt = await _edit(fake_api, boss, 1002, Field.BILLING)
    refused = await _tap(fake_api, boss, prompt, buttons.EDIT_TYPE.build(Billing.PREPAID))
    assert "They owe 10.00 credits" in refused.text
    assert (await _reseller(db, 1002)).billing == Billing.POSTPAID
    # Alice owes nothing: she may become postpaid (and the limit is asked for separately).
    prompt = await _edit(fake_api, boss, 1001, Field.BILLING)
    done = await _tap(fake_api, boss, prompt, buttons.EDIT_TYPE.build(Billing.POSTPAID))
    assert "Type: postpaid" in done.text and "Saved" in done.text


@pytest.mark.usefixtures("people")
async def test_editing_the_threshold_and_the_name(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    prompt = await _edit(fake_api, boss, 1001, Field.THRESHOLD)
    await fake_api.send(boss, "0.001")
    assert "at most two decimals" in (await fake_api.next_event(boss.id)).text
    await fake_api.send(boss, "0")
    assert "Low-balance alert below: 0.00 credits" in (await fake_api.next_event(boss.id)).text
    prompt = await _edit(fake_api, boss, 1001, Field.NAME)
    await fake_api.send(boss, "x" * 101)
    again = await fake_api.next_event(boss.id)
    assert "1 to 100 characters" in again.text
    assert again.message["message_id"] == prompt.message["message_id"]
    await fake_api.send(boss, "Alice <Shop>")
    done = await fake_api.next_event(boss.id)
    assert "Alice &lt;Shop&gt;" in done.text
    assert (await _reseller(db, 1001)).name == "Alice <Shop>"
    assert (await _reseller(db, 1001)).low_balance_threshold == 0


@pytest.mark.usefixtures("people")
async def test_nobody_else_gets_the_list_the_card_or_its_buttons(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    alice = fake_api.user(1001)
    await fake_api.send(alice, "👥 Resellers")  # the admin menu's label, typed
    reply = await fake_api.next_event(alice.id)
    assert "Bob" not in reply.text and not _names(reply)
    await fake_api.send(alice, "/resellers bob")
    assert "Only admins" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "/start")
    menu = await fake_api.next_event(alice.id)
    for data in (
        callbacks.CARD.build(1002),
        buttons.LIST.build(ListFilter.OWING, 0),
        buttons.SEARCH.build(),
        buttons.HISTORY.build(1002, 0),
        buttons.CUSTOMERS.build(1002, 0),
        buttons.EDIT_MENU.build(1002),
        buttons.EDIT.build(1002, Field.LIMIT),
        buttons.NEW.build(),
    ):
        answer = await fake_api.answer(await fake_api.tap(alice, menu, data))
        assert "Only admins" in answer["text"], data
    await fake_api.send(alice, "0")  # no edit flow was started for her
    assert (await _reseller(db, 1002)).billing == Billing.POSTPAID
    async with db.transaction() as session:
        assert (
            await session.scalar(select(AdminAction.id).where(AdminAction.actor == "tg:1001"))
            is None
        )


@pytest.mark.usefixtures("people")
async def test_a_staff_admin_without_the_resellers_permission_is_refused(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await roles.add_staff(
        db, telegram_id=950, name="Tess", permissions=[Permission.TOPUPS],
        owner_ids=frozenset({ADMIN_ID}), actor=f"tg:{ADMIN_ID}", now=now(),
    )  # fmt: skip
    tess = fake_api.user(950, "Tess")
    refusal = no_permission(bot.bot_data["i18n"].get("en"))
    await fake_api.send(tess, "/resellers")
    assert (await fake_api.next_event(tess.id)).text == refusal
    card = await _card(fake_api, boss, 1002)  # a card of the owner's, tapped by her
    for data in (
        callbacks.CARD.build(1002),
        buttons.EDIT.build(1002, Field.NAME),
        buttons.NEW.build(),
        buttons.HISTORY.build(1002, 0),
    ):
        answer = await fake_api.answer(await fake_api.tap(tess, card, data))
        assert answer["text"] == refusal and answer["show_alert"], data
    await roles.set_permission(
        db, telegram_id=950, permission=Permission.RESELLERS, allowed=True,
        actor=f"tg:{ADMIN_ID}", now=now(),
    )  # fmt: skip
    await fake_api.send(tess, "/resellers bob")
    assert _names(await fake_api.next_event(tess.id)) == ["Bob"]
