"""The catalogue in chat: plans, price tiers and payment methods added, edited, disabled and
ordered by an admin, each with a preview of what resellers see, and resellers' screens
following at once; every Save saves once, and nobody without the permission gets in."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from bot import keyboards
from bot.context import BotApplication
from bot.db import Database
from bot.services import plans, pricing, roles, wallet
from bot.services.roles import Permission
from bot.settings import Settings
from handlers.admin import catalogue_callbacks as cb
from handlers.admin.catalogue_callbacks import Field, Kind
from models import AdminAction, Customer, PaymentMethod, Plan, PriceTier
from tests.conftest import ADMIN_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, now, setup_topups

STAFF_ID = 950


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", credit=10_000)
    await setup_topups(db)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_050)
    await plans.add_plan(db, code="iptv-12m", name="IPTV 12 months", days=365, price=9_000)
    return fake_api.user(1001, "Alice")


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _say(fake_api: FakeBotAPI, user: User, text: str) -> Event:
    await fake_api.send(user, text)
    return await fake_api.next_event(user.id)


async def _alert(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> str:
    answer = await fake_api.answer(await fake_api.tap(user, event, data))
    return str(answer.get("text", ""))


async def _list(fake_api: FakeBotAPI, boss: User, kind: Kind) -> Event:
    await fake_api.send(boss, "/catalogue")
    menu = await fake_api.next_event(boss.id)
    return await _tap(fake_api, boss, menu, cb.LIST.build(kind))


async def _plan_id(db: Database, code: str) -> int:
    async with db.transaction() as session:
        found = await session.scalar(select(Plan.id).where(Plan.code == code))
    assert found is not None
    return found


async def _actions(db: Database, *names: str) -> list[tuple[str, str, dict[str, object]]]:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.details)
                .where(AdminAction.action.in_(names))
                .order_by(AdminAction.id)
            )
        ).all()
    return [(r.actor, r.action, json.loads(r.details)) for r in rows]


async def _reseller_plans(fake_api: FakeBotAPI, alice: User) -> list[str]:
    """The plan buttons a reseller's /activate shows, in order."""
    await fake_api.send(alice, "/activate")
    await fake_api.next_event(alice.id)
    picker = await _say(fake_api, alice, "john.doe")
    await fake_api.send(alice, "/cancel")
    await fake_api.next_event(alice.id)
    return [text for text, data in picker.buttons if data.startswith("cu:p:")]


async def test_the_admin_menu_has_the_catalogue_and_the_command_opens_it(
    alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    await fake_api.send(boss, "/start")
    menu = await fake_api.next_event(boss.id)
    assert keyboards.ADMIN_CATALOGUE in [data for _, data in menu.buttons]
    catalogue = await _tap(fake_api, boss, menu, keyboards.ADMIN_CATALOGUE)
    assert [data for _, data in catalogue.buttons][:3] == [
        cb.LIST.build(Kind.PLAN), cb.LIST.build(Kind.TIER), cb.LIST.build(Kind.METHOD)
    ]  # fmt: skip


async def test_an_admin_adds_a_plan_refusing_bad_answers_and_resellers_see_it_at_once(
    db: Database, alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    listing = await _list(fake_api, boss, Kind.PLAN)
    assert "1. IPTV 1 month" in listing.text and "2. IPTV 12 months" in listing.text
    ask = await _tap(fake_api, boss, listing, cb.ADD.build(Kind.PLAN))
    assert "short code" in ask.text
    assert "lowercase" in (await _say(fake_api, boss, "Bad Code!")).text
    assert "already a plan with the code" in (await _say(fake_api, boss, "IPTV-1M")).text
    name = await _say(fake_api, boss, "iptv-3m")
    assert name.message["message_id"] == ask.message["message_id"]  # one message, edited
    assert "at most 100 characters" in name.text
    assert "that one has 101" in (await _say(fake_api, boss, "x" * 101)).text
    days = await _say(fake_api, boss, "IPTV <3> months")
    assert "1 to 3,650" in (await _say(fake_api, boss, "0")).text
    assert "how many days" in days.text
    price = await _say(fake_api, boss, "۹۰")  # Persian digits
    assert "price in credits" in price.text
    for answer, problem in (
        ("10.505", "at most two decimals"),
        ("-5", "must be positive"),
        ("0", "greater than zero"),
        ("ten", "not a number"),
    ):
        assert problem in (await _say(fake_api, boss, answer)).text
    summary = await _say(fake_api, boss, "25,50")
    assert "iptv-3m" in summary.text and "IPTV &lt;3&gt; months" in summary.text
    assert "90 days" in summary.text and "25.50" in summary.text
    save = summary.buttons[0][1]  # 💾 Save, first on the summary
    assert save.startswith("cat:sv:")
    saved = await _tap(fake_api, boss, summary, save)
    assert "Saved" in saved.text and "Place in the list: 3" in saved.text
    assert "already saved" in await _alert(fake_api, boss, summary, save)  # a second tap

    async with db.transaction() as session:
        count = await session.scalar(select(func.count()).where(Plan.code == "iptv-3m"))
    assert count == 1
    assert [(a, n) for a, n, _ in await _actions(db, "plan_added")][-1:] == [
        (f"tg:{ADMIN_ID}", "plan_added")
    ]
    assert await _reseller_plans(fake_api, alice) == [
        "IPTV 1 month · 30 days · 10.50 credits",
        "IPTV 12 months · 365 days · 90.00 credits",
        "IPTV <3> months · 90 days · 25.50 credits",
    ]


async def test_moving_and_disabling_plans_changes_the_resellers_list_and_the_preview(
    db: Database, alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    yearly = await _plan_id(db, "iptv-12m")
    listing = await _list(fake_api, boss, Kind.PLAN)
    card = await _tap(fake_api, boss, listing, cb.CARD.build(Kind.PLAN, yearly))
    assert "Place in the list: 2" in card.text
    moved = await _tap(fake_api, boss, card, cb.UP.build(Kind.PLAN, yearly))
    assert "Place in the list: 1" in moved.text
    # At the top already: it stays there and nothing is logged.
    assert await _alert(fake_api, boss, moved, cb.UP.build(Kind.PLAN, yearly)) == ""
    assert [p.split(" · ")[0] for p in await _reseller_plans(fake_api, alice)] == [
        "IPTV 12 months",
        "IPTV 1 month",
    ]
    preview = await _tap(fake_api, boss, moved, cb.PREVIEW.build(Kind.PLAN))
    labels = [text for text, _ in preview.buttons]
    assert labels[:2] == [
        "IPTV 12 months · 365 days · 90.00 credits",
        "IPTV 1 month · 30 days · 10.50 credits",
    ]
    assert all(data.startswith("cat:") for _, data in preview.buttons)

    off = await _tap(fake_api, boss, moved, cb.DISABLE.build(Kind.PLAN, yearly))
    assert "No longer offered" in off.text and "disabled" in off.text
    # A second tap shows the same card (nothing to edit) and logs nothing more.
    assert await _alert(fake_api, boss, moved, cb.DISABLE.build(Kind.PLAN, yearly)) == ""
    assert [p.split(" · ")[0] for p in await _reseller_plans(fake_api, alice)] == ["IPTV 1 month"]
    on = await _tap(fake_api, boss, off, cb.ENABLE.build(Kind.PLAN, yearly))
    assert "Offered to resellers again" in on.text
    assert len(await _reseller_plans(fake_api, alice)) == 2
    assert [n for _, n, _ in await _actions(db, "plan_moved", "plan_disabled", "plan_enabled")] == [
        "plan_moved",
        "plan_disabled",
        "plan_enabled",
    ]


async def test_a_price_edited_while_a_reseller_confirms_is_shown_before_anything_is_charged(
    db: Database, alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    monthly = await _plan_id(db, "iptv-1m")
    await fake_api.send(alice, "/activate")
    await fake_api.next_event(alice.id)
    picker = await _say(fake_api, alice, "john.doe")
    confirm = await _tap(fake_api, alice, picker, f"cu:p:{monthly}")
    assert "10.50" in confirm.text

    listing = await _list(fake_api, boss, Kind.PLAN)
    card = await _tap(fake_api, boss, listing, cb.CARD.build(Kind.PLAN, monthly))
    ask = await _tap(fake_api, boss, card, cb.EDIT.build(Kind.PLAN, monthly, Field.PRICE))
    assert "Now: 10.50 credits" in ask.text
    summary = await _say(fake_api, boss, "12")
    assert "10.50 credits → <b>12.00 credits</b>" in summary.text
    saved = await _tap(fake_api, boss, summary, summary.buttons[0][1])
    assert "Saved" in saved.text and "12.00" in saved.text
    assert await _actions(db, "plan_edited") == [
        (
            f"tg:{ADMIN_ID}",
            "plan_edited",
            {
                "before": {"code": "iptv-1m", "price": 1_050},
                "after": {"code": "iptv-1m", "price": 1_200},
            },
        )
    ]

    reshown = await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    assert "has changed to 12.00" in reshown.text and "nothing was charged" in reshown.text
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 0
    assert (await wallet.balance_summary(db, 1001, now=now())).balance.available == 10_000
    done = await _tap(fake_api, alice, reshown, reshown.key("✅ Confirm"))
    assert "john.doe" in done.text
    assert (await wallet.balance_summary(db, 1001, now=now())).balance.available == 8_800


async def test_an_edit_refuses_bad_days_and_a_field_that_cannot_be_edited(
    db: Database, alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    monthly = await _plan_id(db, "iptv-1m")
    listing = await _list(fake_api, boss, Kind.PLAN)
    card = await _tap(fake_api, boss, listing, cb.CARD.build(Kind.PLAN, monthly))
    # A forged button for the code, which is never edited.
    assert "closed" in await _alert(
        fake_api, boss, card, cb.EDIT.build(Kind.PLAN, monthly, Field.CODE)
    )
    ask = await _tap(fake_api, boss, card, cb.EDIT.build(Kind.PLAN, monthly, Field.DAYS))
    assert "1 to 3,650" in (await _say(fake_api, boss, "thirty")).text
    assert "Now: 30 days" in ask.text
    summary = await _say(fake_api, boss, "31")
    cancelled = await _tap(fake_api, boss, summary, cb.CANCEL.build())
    assert "nothing was changed" in cancelled.text
    assert "closed" in await _alert(fake_api, boss, summary, summary.buttons[0][1])
    assert (await plans.get_plan(db, monthly)).days == 30


async def test_price_tiers_are_added_edited_and_removed_with_the_resellers_price_screen_shown(
    db: Database, alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    listing = await _list(fake_api, boss, Kind.TIER)
    assert "From 0.00 credits: 1.00 USD per credit" in listing.text
    ask = await _tap(fake_api, boss, listing, cb.ADD.build(Kind.TIER))
    assert "already a tier from 0.00" in (await _say(fake_api, boss, "0")).text
    assert "at most two decimals" in (await _say(fake_api, boss, "1000.001")).text
    price = await _say(fake_api, boss, "1000")
    assert price.message["message_id"] == ask.message["message_id"]
    assert "greater than zero" in (await _say(fake_api, boss, "0")).text
    summary = await _say(fake_api, boss, "0.80")
    saved = await _tap(fake_api, boss, summary, summary.buttons[0][1])
    assert "Saved" in saved.text
    # The preview is the reseller's own price screen for the tier's minimum.
    assert "Total to pay: <b>800.00 USD</b>" in saved.text and "Bank transfer" in saved.text
    assert "already saved" in await _alert(fake_api, boss, summary, summary.buttons[0][1])
    async with db.transaction() as session:
        tier = await session.scalar(select(PriceTier).where(PriceTier.min_credits == 100_000))
        assert tier is not None and tier.unit_price == 80
        quote = await pricing.quote(session, 150_000)
    assert quote is not None and quote.unit_price == 80

    edit = await _tap(fake_api, boss, saved, cb.EDIT.build(Kind.TIER, tier.id, Field.UNIT_PRICE))
    assert "Edit the price tier" in edit.text and "Now: 0.80 USD" in edit.text
    summary = await _say(fake_api, boss, "0.75")
    edited = await _tap(fake_api, boss, summary, summary.buttons[0][1])
    assert "Total to pay: <b>750.00 USD</b>" in edited.text

    confirm = await _tap(fake_api, boss, edited, cb.REMOVE.build(Kind.TIER, tier.id))
    removed = await _tap(fake_api, boss, confirm, confirm.buttons[0][1])
    assert "Removed" in removed.text and "1,000.00" not in removed.text
    assert "already saved" in await _alert(fake_api, boss, confirm, confirm.buttons[0][1])
    assert [n for _, n, _ in await _actions(db, "tier_added", "tier_edited", "tier_removed")] == [
        "tier_added", "tier_added", "tier_added", "tier_edited", "tier_removed",
    ]  # fmt: skip


async def test_payment_methods_are_added_edited_and_disabled_with_the_resellers_pay_screen(
    db: Database, alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    listing = await _list(fake_api, boss, Kind.METHOD)
    await _tap(fake_api, boss, listing, cb.ADD.build(Kind.METHOD))
    assert "already a payment method" in (await _say(fake_api, boss, "bank")).text
    await _say(fake_api, boss, "paypal")
    assert "that one has 65" in (await _say(fake_api, boss, "p" * 65)).text
    await _say(fake_api, boss, "PayPal")
    assert "these have 801" in (await _say(fake_api, boss, "i" * 801)).text
    await _say(fake_api, boss, "Send to pay@example.com\nNote: <your id>")
    assert "must be positive" in (await _say(fake_api, boss, "-1")).text
    summary = await _say(fake_api, boss, "5")
    saved = await _tap(fake_api, boss, summary, summary.buttons[0][1])
    assert "Saved" in saved.text and "PayPal" in saved.text
    async with db.transaction() as session:
        paypal = await session.scalar(select(PaymentMethod).where(PaymentMethod.code == "paypal"))
    assert paypal is not None and paypal.min_total == 500
    assert paypal.instructions == "Send to pay@example.com\nNote: <your id>"

    preview = await _tap(fake_api, boss, saved, cb.METHOD_PREVIEW.build(Kind.METHOD, paypal.id))
    assert "Send to pay@example.com\nNote: &lt;your id&gt;" in preview.text
    # Exactly the screen a reseller paying 100.00 by it gets.
    await fake_api.send(alice, "/topup")
    await fake_api.next_event(alice.id)
    priced = await _say(fake_api, alice, "100")
    pay = await _tap(fake_api, alice, priced, priced.button("PayPal"))
    assert pay.text in preview.text
    await _say(fake_api, alice, "/cancel")

    card = await _tap(fake_api, boss, preview, cb.CARD.build(Kind.METHOD, paypal.id))
    await _tap(fake_api, boss, card, cb.EDIT.build(Kind.METHOD, paypal.id, Field.INSTRUCTIONS))
    summary = await _say(fake_api, boss, "Send to billing@example.com")
    edited = await _tap(fake_api, boss, summary, summary.buttons[0][1])
    assert "billing@example.com" in edited.text

    off = await _tap(fake_api, boss, edited, cb.DISABLE.build(Kind.METHOD, paypal.id))
    assert "No longer offered" in off.text
    await fake_api.send(alice, "/topup")
    await fake_api.next_event(alice.id)
    priced = await _say(fake_api, alice, "100")
    assert "Bank transfer" in str(priced.buttons) and "PayPal" not in str(priced.buttons)
    assert [
        n for _, n, _ in await _actions(db, "method_added", "method_edited", "method_disabled")
    ][-3:] == ["method_added", "method_edited", "method_disabled"]


async def test_nobody_without_the_catalogue_permission_gets_in_by_command_button_or_text(
    db: Database, alice: User, boss: User, fake_api: FakeBotAPI
) -> None:
    await roles.add_staff(
        db, telegram_id=STAFF_ID, name="Sam", permissions=[Permission.TOPUPS],
        owner_ids={ADMIN_ID}, actor=f"tg:{ADMIN_ID}", now=now(),
    )  # fmt: skip
    sam = fake_api.user(STAFF_ID, "Sam")
    monthly = await _plan_id(db, "iptv-1m")
    for user, no in ((sam, "do not have permission"), (alice, "Only admins")):
        refused = await _say(fake_api, user, "/catalogue")
        assert no in refused.text
        await fake_api.send(user, "🗂 Catalogue")  # a menu button's text, typed
        stray = await fake_api.next_event(user.id)
        assert "Catalogue" not in stray.text
        for data in (
            cb.MENU.build(),
            cb.LIST.build(Kind.PLAN),
            cb.CARD.build(Kind.PLAN, monthly),
            cb.ADD.build(Kind.PLAN),
            cb.EDIT.build(Kind.PLAN, monthly, Field.PRICE),
            cb.DISABLE.build(Kind.PLAN, monthly),
            cb.UP.build(Kind.PLAN, monthly),
            cb.METHOD_PREVIEW.build(Kind.METHOD, 1),
            cb.REMOVE.build(Kind.TIER, 1),
            cb.SAVE.build("x"),
        ):
            assert no in await _alert(fake_api, user, refused, data)
    assert (await plans.get_plan(db, monthly)).active
    assert await _actions(db, "plan_disabled", "plan_moved", "tier_removed") == []

    # Given the permission, the same staff admin gets in.
    await roles.set_permission(
        db, telegram_id=STAFF_ID, permission=Permission.CATALOGUE, allowed=True,
        actor=f"tg:{ADMIN_ID}", now=now(),
    )  # fmt: skip
    menu = await _say(fake_api, sam, "/catalogue")
    assert cb.LIST.build(Kind.PLAN) in [data for _, data in menu.buttons]


async def test_a_plan_form_continues_after_a_restart_and_saves_once(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    boss = fake_api.user(ADMIN_ID, "Boss")
    running = running_bot(settings, db)
    await running.__aenter__()
    try:
        listing = await _list(fake_api, boss, Kind.PLAN)
        ask = await _tap(fake_api, boss, listing, cb.ADD.build(Kind.PLAN))
        await _say(fake_api, boss, "vpn-1m")
        await running.__aexit__(None, None, None)
        running = running_bot(settings, db)
        await running.__aenter__()
        days = await _say(fake_api, boss, "VPN 1 month")
        assert days.message["message_id"] == ask.message["message_id"]
        await _say(fake_api, boss, "30")
        summary = await _say(fake_api, boss, "5")
        saved = await _tap(fake_api, boss, summary, summary.buttons[0][1])
        assert "Saved" in saved.text and "VPN 1 month" in saved.text
    finally:
        await running.__aexit__(None, None, None)
    assert [p.code for p in await plans.list_plans(db)] == ["vpn-1m"]
