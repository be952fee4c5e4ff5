"""Customer journeys: activation, renewal, the list and card, and the customer's own view."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import update

from bot.context import BotApplication
from bot.db import Database
from bot.services import customers, ledger, plans
from bot.services.provisioning import LocalProvider
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from models import Customer, Plan, Reseller
from tests.conftest import running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller
from tests.test_customers import FailingProvider, HangingProvider
from tests.test_jobs import drain


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_050)
    await plans.add_plan(db, code="iptv-1y", name="IPTV 1 year", days=365, price=9_000)
    return fake_api.user(1001, "Alice")


async def _balance(db: Database, telegram_id: int = 1001) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, telegram_id)
        return await ledger.balance(session, reseller.account_id)


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    return await fake_api.answer(await fake_api.tap(user, event, data))


async def _to_confirmation(
    fake_api: FakeBotAPI, user: User, username: str = "John.Doe", plan: str = "1 month"
) -> Event:
    await fake_api.send(user, "/activate")
    ask = await fake_api.next_event(user.id)
    assert "customer's username" in ask.text
    await fake_api.send(user, username)
    picker = await fake_api.next_event(user.id)
    assert picker.message["message_id"] == ask.message["message_id"]
    await _tap(fake_api, user, picker, picker.button(plan))
    return await fake_api.next_event(user.id)


def _token(text: str) -> str:
    found = re.search(r"https://t\.me/reseller_test_bot\?start=([\w-]+)", text)
    assert found, text
    return found.group(1)


async def test_activation_charges_once_and_gives_an_invite_link(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice)
    expiry = (dt.datetime.now(dt.UTC) + dt.timedelta(days=30)).strftime("%Y-%m-%d")
    expected = (
        "Confirm activation",
        "Customer: john.doe",
        "Cost: <b>10.50 credits</b>",
        "Available: 50.00 credits → 39.50 credits",
        f"New expiry: <b>{expiry}</b>",
    )
    for part in expected:
        assert part in confirm.text
    button = confirm.key("✅ Confirm")
    await _tap(fake_api, alice, confirm, button)
    done = await fake_api.next_event(alice.id)
    assert "john.doe activated" in done.text and "Charged: 10.50 credits" in done.text
    _token(done.text)
    again = await _tap(fake_api, alice, confirm, button)
    assert "nothing more was charged" in again["text"]
    assert (await _balance(db)).balance == 3_950
    await assert_audit_ok(db)


async def test_bad_and_duplicate_usernames_wait_for_another(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice, "taken1")
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    await fake_api.next_event(alice.id)
    await fake_api.send(alice, "/activate")
    await fake_api.next_event(alice.id)
    for bad, problem in (("ab", "3 to 32"), ("bad name", "3 to 32"), ("<i>x</i>", "3 to 32"),
                         ("TAKEN1", "is taken")):  # fmt: skip
        await fake_api.send(alice, bad)
        shown = await fake_api.next_event(alice.id)
        assert problem in shown.text and "customer's username" in shown.text
    await fake_api.send_photo(alice)
    assert "as text" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "/cancel")
    assert "Nothing was charged" in (await fake_api.next_event(alice.id)).text
    assert (await _balance(db)).balance == 3_950


async def test_insufficient_credit_says_what_is_missing_with_a_top_up_button(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    shown = await _to_confirmation(fake_api, alice, plan="1 year")
    assert "you are 40.00 credits short" in shown.text
    assert shown.buttons[0] == ("➕ Top up", "tu:new")
    assert (await _balance(db)).balance == 5_000
    # A cheaper plan from the same screen still works.
    await _tap(fake_api, alice, shown, shown.button("1 month"))
    assert "Confirm activation" in (await fake_api.next_event(alice.id)).text


@pytest.mark.parametrize("provider", [FailingProvider(), HangingProvider()])
async def test_provider_failure_or_timeout_charges_nothing(
    settings: Settings, fake_api: FakeBotAPI, db: Database, alice: User, provider: LocalProvider
) -> None:
    quick = settings.model_copy(update={"provisioning_timeout_seconds": 0.3})
    async with running_bot(quick, db, provider):
        confirm = await _to_confirmation(fake_api, alice)
        await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
        failed = await fake_api.next_event(alice.id)
        assert "could not be provisioned" in failed.text and "Nothing was charged" in failed.text
    bal = await _balance(db)
    assert (bal.balance, bal.held) == (5_000, 0)
    await assert_audit_ok(db)


async def test_plan_disabled_before_confirming_charges_nothing(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice)
    async with db.transaction() as session:
        await session.execute(update(Plan).where(Plan.code == "iptv-1m").values(active=False))
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    shown = await fake_api.next_event(alice.id)
    assert "no longer available" in shown.text and "1 month" not in str(shown.buttons)
    assert (await _balance(db)).balance == 5_000


async def test_renewal_of_an_active_and_an_expired_customer(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice, "active1")
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    await fake_api.next_event(alice.id)
    confirm = await _to_confirmation(fake_api, alice, "lapsed1")
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    await fake_api.next_event(alice.id)
    lapsed_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    async with db.transaction() as session:
        await session.execute(
            update(Customer).where(Customer.username == "lapsed1").values(expires_at=lapsed_at)
        )
    now = dt.datetime.now(dt.UTC)
    for username, base in (("active1", now + dt.timedelta(days=30)), ("lapsed1", now)):
        await fake_api.send(alice, "/renew")
        picker = await fake_api.next_event(alice.id)
        assert "soonest expiry first" in picker.text
        assert picker.buttons[0][0].startswith("lapsed1")  # the lapsed one expires first
        await fake_api.send(alice, username[:4])  # search
        found = await fake_api.next_event(alice.id)
        await _tap(fake_api, alice, found, found.button(username))
        plans_shown = await fake_api.next_event(alice.id)
        await _tap(fake_api, alice, plans_shown, plans_shown.button("1 month"))
        confirm = await fake_api.next_event(alice.id)
        expected = (base + dt.timedelta(days=30)).strftime("%Y-%m-%d")
        assert f"New expiry: <b>{expected}</b>" in confirm.text
        await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
        done = await fake_api.next_event(alice.id)
        assert f"{username} renewed</b> until {expected}" in done.text
    assert (await _balance(db)).balance == 5_000 - 4 * 1_050
    await assert_audit_ok(db)


async def test_forged_buttons_naming_another_resellers_customer(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice, "alices1")
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    await fake_api.next_event(alice.id)
    customer_id = (
        (await customers.list_customers(db, 1001, now=dt.datetime.now(dt.UTC))).customers[0].id
    )
    await make_reseller(db, 1002, name="Bob", credit=5_000)
    bob = fake_api.user(1002, "Bob")
    await fake_api.send(bob, "/start")
    menu = await fake_api.next_event(bob.id)
    for data in (f"cu:v:{customer_id}", f"cu:i:{customer_id}", f"cu:k:{customer_id}"):
        assert "no such customer" in (await _tap(fake_api, bob, menu, data))["text"]
    await _tap(fake_api, bob, menu, f"cu:r:{customer_id}")
    assert "no such customer" in (await fake_api.next_event(bob.id)).text
    await fake_api.send(bob, "/renew")
    picker = await fake_api.next_event(bob.id)
    assert "No customers" in picker.text
    assert "no such customer" in (await _tap(fake_api, bob, picker, f"cu:pk:{customer_id}"))["text"]
    await fake_api.send(bob, "/cancel")
    await fake_api.next_event(bob.id)
    await fake_api.send(bob, "/start")
    menu = await fake_api.next_event(bob.id)
    await _tap(fake_api, bob, menu, f"cu:rq:{customer_id}:1")
    assert "no such customer" in (await fake_api.next_event(bob.id)).text
    assert (await _balance(db, 1002)).balance == 5_000
    assert (await _balance(db)).balance == 3_950


async def test_suspended_reseller_cannot_sell(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Reseller).where(Reseller.telegram_id == 1001).values(status="suspended")
        )
    await fake_api.send(alice, "/activate")
    assert "suspended" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "/renew")
    assert "suspended" in (await fake_api.next_event(alice.id)).text


async def test_list_card_invite_and_revoke(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice, "carded")
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    first_token = _token((await fake_api.next_event(alice.id)).text)
    await fake_api.send(alice, "/customers")
    listing = await fake_api.next_event(alice.id)
    assert "carded" in listing.text and "active" in listing.text
    await _tap(fake_api, alice, listing, listing.key("Expired"))
    expired = await fake_api.next_event(alice.id)
    assert "None." in expired.text
    await _tap(fake_api, alice, expired, expired.key("All"))
    listing = await fake_api.next_event(alice.id)
    await _tap(fake_api, alice, listing, listing.button("carded"))
    card = await fake_api.next_event(alice.id)
    assert "Telegram: not linked" in card.text and "Invite link: active" in card.text
    await _tap(fake_api, alice, card, card.key("🔗 Invite link"))
    invite = await fake_api.next_event(alice.id)
    assert _token(invite.text) == first_token
    await _tap(fake_api, alice, invite, invite.key("⬅️ Customer card"))
    card = await fake_api.next_event(alice.id)
    await _tap(fake_api, alice, card, card.key("🚫 Revoke link"))
    assert "no longer works" in (await fake_api.next_event(alice.id)).text
    stranger = fake_api.user(7777, "Mallory")
    await fake_api.send(stranger, f"/start {first_token}")
    assert "not valid" in (await fake_api.next_event(stranger.id)).text


async def test_customer_links_sees_status_and_requests_renewal(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice, "viewer")
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    token = _token((await fake_api.next_event(alice.id)).text)

    customer = fake_api.user(5001, "Carol")
    await fake_api.send(customer, f"/start {token}")
    linked = await fake_api.next_event(customer.id)
    assert (
        "Linked!" in linked.text and "IPTV 1 month" in linked.text and "30 days left" in linked.text
    )
    intruder = fake_api.user(5002, "Dave")
    await fake_api.send(intruder, f"/start {token}")
    assert "already used by someone else" in (await fake_api.next_event(intruder.id)).text
    await fake_api.send(intruder, "/status")
    assert "not linked" in (await fake_api.next_event(intruder.id)).text

    await fake_api.send(customer, "/start")  # the portal's home
    home = await fake_api.next_event(customer.id)
    assert "Your subscription" in home.text and "Your reseller: Alice" in home.text
    await fake_api.send(customer, "/status")
    status = await fake_api.next_event(customer.id)
    assert "Your subscription" in status.text and "activation: IPTV 1 month" in status.text
    answer = await _tap(fake_api, customer, status, status.key("🔁 Request renewal"))
    assert "has been asked" in answer["text"]
    again = await _tap(fake_api, customer, status, status.key("🔁 Request renewal"))
    assert "already asked" in again["text"]

    # The request reaches the reseller through the outbox, once, even if the first try fails.
    assert fake_api.unread(alice.id) == []
    fake_api.fail("sendMessage", 502, "Bad Gateway", chat_id=alice.id)
    assert await drain(bot, db, settings, dt.datetime.now(dt.UTC)) == 1
    (request,) = fake_api.unread(alice.id)
    await fake_api.next_event(alice.id)
    assert "viewer</b> asks to renew" in request.text
    await _tap(fake_api, alice, request, request.key("🔁 Renew"))
    confirm = await fake_api.next_event(alice.id)
    assert confirm.message["message_id"] == request.message["message_id"]
    assert "Confirm renewal" in confirm.text and "Customer: viewer" in confirm.text
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    assert "viewer renewed" in (await fake_api.next_event(alice.id)).text

    await fake_api.send(customer, "/status")
    status = await fake_api.next_event(customer.id)
    assert "60 days left" in status.text or "59 days left" in status.text
    assert "renewal: IPTV 1 month" in status.text
    assert (await _balance(db)).balance == 5_000 - 2 * 1_050
    await assert_audit_ok(db)


async def test_an_old_confirmation_screen_charges_nothing(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    old = await _to_confirmation(fake_api, alice, "first.try")
    old_confirm = old.key("✅ Confirm")
    new = await _to_confirmation(fake_api, alice, "second.try")  # a new screen, a new nonce
    assert new.key("✅ Confirm") != old_confirm
    answer = await _tap(fake_api, alice, old, old_confirm)
    assert "no longer valid" in answer["text"]
    await _tap(fake_api, alice, new, new.key("✅ Confirm"))
    assert "second.try activated" in (await fake_api.next_event(alice.id)).text
    answer = await _tap(fake_api, alice, old, old_confirm)
    assert "no longer valid" in answer["text"]
    page = await customers.list_customers(db, 1001, now=dt.datetime.now(dt.UTC))
    assert [c.username for c in page.customers] == ["second.try"]
    assert (await _balance(db)).balance == 5_000 - 1_050
    await assert_audit_ok(db)


async def test_a_price_changed_after_the_confirmation_screen_is_shown_and_charged_only_once_seen(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    confirm = await _to_confirmation(fake_api, alice)
    assert "10.50 credits" in confirm.text
    async with db.transaction() as session:
        await session.execute(update(Plan).where(Plan.code == "iptv-1m").values(price=1_200))
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    warned = await fake_api.next_event(alice.id)
    assert warned.text.startswith(
        "⚠️ The price of IPTV 1 month has changed to 12.00 credits; nothing was charged."
    )
    assert "Cost: <b>12.00 credits</b>" in warned.text
    assert (await _balance(db)).held == 0 and (await _balance(db)).balance == 5_000
    # The old screen's Confirm, tapped again, charges nothing; the new one charges 12.00.
    late = await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    assert late["show_alert"]
    await _tap(fake_api, alice, warned, warned.key("✅ Confirm"))
    done = await fake_api.next_event(alice.id)
    assert "activated" in done.text and (await _balance(db)).balance == 3_800
    await assert_audit_ok(db)
