"""A customer reads the bot in their own language: reminders come from the real sender in
the language stored for their chat, /language switches the next one, and /status, its
buttons and the refusals are written in it, with Persian digits."""

from __future__ import annotations

import asyncio
import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot import i18n
from bot.context import BotApplication
from bot.db import Database
from bot.settings import Settings
from handlers.customer.callbacks import RENEWAL_REQUEST, UNLINK, UNLINK_CONFIRM
from handlers.portal import callbacks as portal_buttons
from models import Customer
from tests.fake_bot_api import FakeBotAPI, User
from tests.test_bot_customer_links import _expiry, _open_link, _remind, _sold, alice  # noqa: F401
from tests.test_jobs import read_all

CATALOGS = i18n.load()
FA, EN = CATALOGS.get("fa"), CATALOGS.get("en")
PLAN = "IPTV 1 month"  # as the alice fixture adds it
REMINDER = (
    "⏰ Your subscription <code>{username}</code> ({plan}) expires in <b>{n} day</b>, on {date}.",
    "⏰ Your subscription <code>{username}</code> ({plan}) expires in <b>{n} days</b>, on {date}.",
)


def _reminder(t: i18n.Translator, days: int, expires: dt.datetime, settings: Settings) -> str:
    return t.n_(
        *REMINDER,
        days,
        username=t.isolate("viewer"),
        plan=t.isolate(PLAN),
        date=t.date(expires, settings.zone),
    )


@pytest.fixture
def parisa(fake_api: FakeBotAPI) -> User:
    user = fake_api.user(5001, "Parisa")
    user.language_code = "fa-IR"
    return user


async def _customer_id(db: Database) -> int:
    """The id of the only customer."""
    async with db.transaction() as session:
        found = await session.scalar(select(Customer.id))
    assert found is not None
    return found


async def test_a_reminder_arrives_in_persian_and_after_choosing_english_the_next_in_english(
    bot: BotApplication,
    settings: Settings,
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,  # noqa: F811
    parisa: User,
) -> None:
    token = await _sold(fake_api, alice)
    linked = await _open_link(fake_api, parisa, token)
    assert linked.startswith(FA._("✅ Linked! You will get renewal reminders here."))
    expires = await _expiry(db)

    await _remind(bot, db, settings, expires - dt.timedelta(days=7))
    (reminder,) = fake_api.unread(parisa.id)
    assert reminder.text == _reminder(FA, 7, expires, settings)
    assert "<b>۷ " in reminder.text and FA.date(expires, settings.zone) in reminder.text
    request = portal_buttons.RENEWAL.build(await _customer_id(db))
    assert (FA._("🔁 Request renewal"), request) in reminder.buttons
    read_all(fake_api, parisa.id)

    await fake_api.send(parisa, "/language")
    choices = await fake_api.next_event(parisa.id)
    await fake_api.answer(await fake_api.tap(parisa, choices, "lang:en"))
    await fake_api.next_event(parisa.id)

    await _remind(bot, db, settings, expires - dt.timedelta(days=3))
    (reminder,) = fake_api.unread(parisa.id)
    assert reminder.text == _reminder(EN, 3, expires, settings)
    assert "expires in <b>3 days</b>" in reminder.text
    assert ("🔁 Request renewal", request) in reminder.buttons


async def test_a_persian_customers_status_is_in_persian_with_persian_digits(
    bot: BotApplication,
    settings: Settings,
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,  # noqa: F811
    parisa: User,
) -> None:
    token = await _sold(fake_api, alice)
    await _open_link(fake_api, parisa, token)
    expires = await _expiry(db)
    await fake_api.send(parisa, "/status")
    status = await fake_api.next_event(parisa.id)
    text = status.text
    assert FA._("📺 <b>Your subscription</b>") in text
    assert FA.n_("Plan: {plan} ({n} day)", "Plan: {plan} ({n} days)", 30,
                 plan=FA.isolate(PLAN)) in text  # fmt: skip
    assert FA.date(expires, settings.zone) in text and "۳۰" in text
    # Every number is in Persian digits; only the plan's own name keeps its "1".
    assert re.search("[0-9]", text.replace(PLAN, "")) is None, text
    labels = dict((data, label) for label, data in status.buttons)
    assert labels[RENEWAL_REQUEST.build()] == FA._("🔁 Request renewal")
    assert labels[UNLINK.build()] == FA._("🔓 Unlink this chat")

    answer = await fake_api.answer(await fake_api.tap(parisa, status, RENEWAL_REQUEST.build()))
    assert answer["text"] == FA._("Your reseller has been asked to renew your subscription.")
    again = await fake_api.answer(await fake_api.tap(parisa, status, RENEWAL_REQUEST.build()))
    assert again["text"] == FA._("Your reseller was already asked. Please wait for them.")


async def test_a_refused_invite_link_is_explained_in_the_readers_language(
    bot: BotApplication,
    fake_api: FakeBotAPI,
    alice: User,  # noqa: F811
    parisa: User,
) -> None:
    token = await _sold(fake_api, alice)
    await _open_link(fake_api, fake_api.user(5002, "Carol"), token)
    refused = await _open_link(fake_api, parisa, token)
    assert refused == FA._(
        "This invite link was already used by someone else. Ask your reseller for a new one."
    )
    await fake_api.send(parisa, "/status")
    assert (await fake_api.next_event(parisa.id)).text == FA._(
        "This chat is not linked to a subscription. Open the invite link your reseller sent you."
    )


async def test_each_chat_gets_the_command_menu_of_its_role_in_its_language(
    bot: BotApplication,
    fake_api: FakeBotAPI,
    db: Database,
    alice: User,  # noqa: F811
    parisa: User,
) -> None:
    def menu(chat_id: int) -> list[str] | None:
        found = fake_api.command_menus.get(("chat", chat_id, ""))
        return None if found is None else [c["command"] for c in found]

    await fake_api.send(alice, "/start")
    await fake_api.next_event(alice.id)
    await asyncio.sleep(0.2)  # the menu follows the answer
    assert menu(alice.id) is not None and "activate" in (menu(alice.id) or [])
    await fake_api.send(parisa, "/start")  # a stranger keeps the default menu
    await fake_api.next_event(parisa.id)
    assert menu(parisa.id) is None

    await _open_link(fake_api, parisa, await _sold(fake_api, alice))
    await asyncio.sleep(0.2)
    assert menu(parisa.id) == ["start", "help", "language", "status", "notifications", "unlink"]
    described = fake_api.command_menus[("chat", parisa.id, "")]
    assert described[3]["description"] == FA._("Your subscription")

    await fake_api.send(parisa, "/unlink")
    unlink = await fake_api.next_event(parisa.id)
    await fake_api.answer(await fake_api.tap(parisa, unlink, UNLINK_CONFIRM.build()))
    await fake_api.next_event(parisa.id)
    await fake_api.send(parisa, "/start")  # no longer a customer: the default menu again
    await fake_api.next_event(parisa.id)
    await asyncio.sleep(0.2)
    assert menu(parisa.id) is None
