"""Invite links end to end: revoke and replace unlink the old chat, resellers and admins
who open a link are not linked, customers unlink themselves, and reminders follow the link."""

from __future__ import annotations

import datetime as dt

import pytest

import jobs
from bot.context import BotApplication
from bot.db import Database
from bot.services import customer_expiry, customers, plans
from bot.settings import Settings
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import FakeBotAPI, User
from tests.helpers import make_reseller
from tests.test_bot_customers import _tap, _to_confirmation, _token
from tests.test_jobs import drain, read_all


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_050)
    return fake_api.user(1001, "Alice")


async def _sold(fake_api: FakeBotAPI, alice: User, username: str = "viewer") -> str:
    """Alice activates a customer; the invite link's token."""
    confirm = await _to_confirmation(fake_api, alice, username)
    await _tap(fake_api, alice, confirm, confirm.key("✅ Confirm"))
    return _token((await fake_api.next_event(alice.id)).text)


async def _open_link(fake_api: FakeBotAPI, user: User, token: str) -> str:
    await fake_api.send(user, f"/start {token}")
    return (await fake_api.next_event(user.id)).text


async def _card(fake_api: FakeBotAPI, alice: User) -> str:
    """Alice's card of her only customer, opened from /customers."""
    await fake_api.send(alice, "/customers")
    listing = await fake_api.next_event(alice.id)
    await _tap(fake_api, alice, listing, listing.button("viewer"))
    return (await fake_api.next_event(alice.id)).text


async def _card_button(fake_api: FakeBotAPI, alice: User, msgid: str) -> str:
    """Tap the button ``msgid`` on Alice's card of her only customer; what then shows."""
    await fake_api.send(alice, "/customers")
    listing = await fake_api.next_event(alice.id)
    await _tap(fake_api, alice, listing, listing.button("viewer"))
    card = await fake_api.next_event(alice.id)
    await _tap(fake_api, alice, card, card.key(msgid))
    return (await fake_api.next_event(alice.id)).text


async def _expiry(db: Database) -> dt.datetime:
    page = await customers.list_customers(db, 1001, now=dt.datetime.now(dt.UTC))
    return page.customers[0].expires_at


async def _queue_reminders(db: Database, settings: Settings, at: dt.datetime) -> None:
    """The customers' expiry reminders only: the resellers' digest, due from its time of
    day, would otherwise reach Alice or not depending on when the suite runs."""
    await customer_expiry.queue_expiry_reminders(db, at, jobs.alert_settings(settings))


async def _remind(app: BotApplication, db: Database, settings: Settings, at: dt.datetime) -> None:
    await _queue_reminders(db, settings, at)
    await drain(app, db, settings, at)


async def test_a_revoked_link_stops_working_for_the_old_chat_and_a_new_link_works(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    token = await _sold(fake_api, alice)
    carol = fake_api.user(5001, "Carol")
    assert "Linked!" in await _open_link(fake_api, carol, token)
    expires = await _expiry(db)
    week_before = expires - dt.timedelta(days=7)
    await _remind(bot, db, settings, week_before)
    (reminder,) = fake_api.unread(carol.id)
    assert "in <b>7 days</b>" in reminder.text
    read_all(fake_api, carol.id)
    # The 3-day reminder is queued, then the link is revoked before it goes out.
    three_days_before = expires - dt.timedelta(days=3)
    await _queue_reminders(db, settings, three_days_before)

    revoked = await _card_button(fake_api, alice, "🚫 Revoke link")
    assert "no longer works" in revoked and "was unlinked" in revoked
    await drain(bot, db, settings, three_days_before)
    told = read_all(fake_api, carol.id)
    assert len(told) == 1 and "no longer linked" in told[0] and "revoked" in told[0]

    answer = await _tap(fake_api, carol, reminder, reminder.key("🔁 Request renewal"))
    assert "not linked" in answer["text"]
    await fake_api.send(carol, "/status")
    assert "not linked" in (await fake_api.next_event(carol.id)).text
    assert "not valid" in await _open_link(fake_api, carol, token)
    await _remind(bot, db, settings, expires - dt.timedelta(days=1))
    assert read_all(fake_api, carol.id) == []
    assert fake_api.unread(alice.id) == []  # the renewal request never reached Alice

    card = await _card(fake_api, alice)
    assert "Telegram: not linked" in card and "Invite link: revoked" in card
    new_token = _token(await _card_button(fake_api, alice, "🔗 Invite link"))
    assert new_token != token
    dave = fake_api.user(5002, "Dave")
    assert "Linked!" in await _open_link(fake_api, dave, new_token)
    await _remind(bot, db, settings, expires - dt.timedelta(days=1))
    assert read_all(fake_api, carol.id) == []
    sent = read_all(fake_api, dave.id)
    assert len(sent) == 1 and "in <b>1 day</b>" in sent[0]
    assert "Telegram: linked since" in await _card(fake_api, alice)


async def test_a_new_link_replaces_the_old_one_and_unlinks_the_chat_that_used_it(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    token = await _sold(fake_api, alice)
    carol = fake_api.user(5001, "Carol")
    await _open_link(fake_api, carol, token)
    replaced = await _card_button(fake_api, alice, "🔄 New link")
    new_token = _token(replaced)
    assert new_token != token and "old link no longer works" in replaced
    assert "was unlinked" in replaced
    await drain(bot, db, settings, dt.datetime.now(dt.UTC))
    told = read_all(fake_api, carol.id)
    assert len(told) == 1 and "new invite link" in told[0]
    assert "not valid" in await _open_link(fake_api, carol, token)
    intruder = fake_api.user(5003, "Mallory")
    assert "not valid" in await _open_link(fake_api, intruder, token)
    assert "Linked!" in await _open_link(fake_api, carol, new_token)
    assert "already used by someone else" in await _open_link(fake_api, intruder, new_token)
    # Another new link with nobody linked says nothing about an unlinked chat.
    await _open_link(fake_api, carol, new_token)
    replaced = await _card_button(fake_api, alice, "🔄 New link")
    assert "was unlinked" in replaced
    replaced = await _card_button(fake_api, alice, "🔄 New link")
    assert "was unlinked" not in replaced


@pytest.mark.parametrize("opener", ["own reseller", "admin", "other reseller"])
async def test_a_reseller_or_admin_opening_a_customers_link_is_told_what_it_is_and_not_linked(
    bot: BotApplication,
    settings: Settings,
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,
    opener: str,
) -> None:
    token = await _sold(fake_api, alice)
    await make_reseller(db, 1002, name="Bob")
    user = {
        "own reseller": alice,
        "admin": fake_api.user(ADMIN_ID, "Boss"),
        "other reseller": fake_api.user(1002, "Bob"),
    }[opener]
    told = await _open_link(fake_api, user, token)
    assert "meant for the customer" in told and "Your chat was not linked" in told
    assert "Linked!" not in told
    if opener == "other reseller":
        assert "viewer" not in told  # someone else's customer stays anonymous
    else:
        assert "invite link of the customer <b>viewer</b>" in told
    assert "Telegram: not linked" in await _card(fake_api, alice)
    await _remind(bot, db, settings, await _expiry(db) - dt.timedelta(days=7))
    assert [t for t in read_all(fake_api, user.id) if "expires" in t] == []
    # The link was not captured: the customer still links with it, and a second tap by the
    # reseller or admin changes nothing.
    carol = fake_api.user(5001, "Carol")
    assert "Linked!" in await _open_link(fake_api, carol, token)
    assert "Your chat was not linked" in await _open_link(fake_api, user, token)
    status = await customers.status_of(db, carol.id)
    assert status is not None and status.customer.username == "viewer"
    await _card_button(fake_api, alice, "🚫 Revoke link")
    assert "not valid any more" in await _open_link(fake_api, user, token)


async def test_a_customer_unlinks_with_the_command_or_the_button_and_the_reseller_sees_it(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    token = await _sold(fake_api, alice)
    carol = fake_api.user(5001, "Carol")
    await _open_link(fake_api, carol, token)
    assert "Telegram: linked since" in await _card(fake_api, alice)

    await fake_api.send(carol, "/unlink")
    ask = await fake_api.next_event(carol.id)
    assert "Unlink this chat" in ask.text and "<code>viewer</code>" in ask.text
    await _tap(fake_api, carol, ask, ask.key("⬅️ Keep it"))
    kept = await fake_api.next_event(carol.id)
    assert "Your subscription" in kept.text  # nothing changed
    await _tap(fake_api, carol, kept, kept.key("🔓 Unlink this chat"))
    ask = await fake_api.next_event(carol.id)
    assert ask.message["message_id"] == kept.message["message_id"]
    yes = ask.key("🔓 Yes, unlink")
    await _tap(fake_api, carol, ask, yes)
    done = await fake_api.next_event(carol.id)
    assert "no longer linked" in done.text and done.buttons == []
    again = await _tap(fake_api, carol, ask, yes)  # a second tap on the old screen
    assert "not linked" in again["text"]
    await fake_api.send(carol, "/status")
    assert "not linked" in (await fake_api.next_event(carol.id)).text
    assert "Telegram: not linked" in await _card(fake_api, alice)
    await _remind(bot, db, settings, await _expiry(db) - dt.timedelta(days=7))
    assert read_all(fake_api, carol.id) == []
    assert fake_api.unread(alice.id) == []  # nobody else is told

    # The same link links the chat back.
    assert "Linked!" in await _open_link(fake_api, carol, token)
    await fake_api.send(carol, "/unlink")
    ask = await fake_api.next_event(carol.id)
    await _tap(fake_api, carol, ask, ask.key("🔓 Yes, unlink"))
    assert "no longer linked" in (await fake_api.next_event(carol.id)).text

    stranger = fake_api.user(7777, "Eve")
    await fake_api.send(stranger, "/unlink")
    assert "not linked" in (await fake_api.next_event(stranger.id)).text
    await fake_api.send(alice, "/unlink")
    assert "not linked" in (await fake_api.next_event(alice.id)).text
