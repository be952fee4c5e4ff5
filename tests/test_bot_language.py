"""Tried as a new user would: a Persian client is answered in Persian (digits included),
/language switches every later message, and the command menus come in each language."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from bot import i18n
from bot.context import BotApplication
from bot.db import Database
from bot.services import roles
from bot.services.roles import Permission
from models import ChatLanguage
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID
from tests.fake_bot_api import FakeBotAPI, User
from tests.helpers import make_reseller

CATALOGS = i18n.load()
FA, EN = CATALOGS.get("fa"), CATALOGS.get("en")


@pytest.fixture
async def parisa(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Parisa", credit=5_000)
    user = fake_api.user(1001, "Parisa")
    user.language_code = "fa-IR"
    return user


async def _stored(db: Database, chat_id: int) -> tuple[str, bool] | None:
    async with db.transaction() as session:
        row = await session.get(ChatLanguage, chat_id)
        return (row.language, row.chosen) if row else None


async def test_a_persian_client_is_answered_in_persian_with_persian_digits(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, parisa: User
) -> None:
    await fake_api.send(parisa, "/start")
    menu = await fake_api.next_event(parisa.id)
    greeting = FA._("Hello, {name}! What would you like to do?", name=FA.isolate("Parisa"))
    assert menu.text == greeting and greeting != EN._(
        "Hello, {name}! What would you like to do?", name="Parisa"
    )
    assert FA._("💰 Balance") in [label for label, _ in menu.buttons]
    assert await _stored(db, parisa.id) == ("fa", False)

    await fake_api.send(parisa, "/balance")
    balance = await fake_api.next_event(parisa.id)
    assert FA.amount(5_000, "credits") in balance.text
    assert "۵۰٫۰۰" in balance.text and "50.00" not in balance.text


async def test_language_switches_every_later_message_and_is_remembered(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, parisa: User
) -> None:
    await fake_api.send(parisa, "/language")
    choices = await fake_api.next_event(parisa.id)
    labels = [label for label, _ in choices.buttons]
    assert "English" in labels and any("فارسی" in label for label in labels)
    await fake_api.answer(await fake_api.tap(parisa, choices, "lang:en"))
    done = await fake_api.next_event(parisa.id)
    assert done.text == "✅ From now on I will write to you in English."
    assert await _stored(db, parisa.id) == ("en", True)
    menu = fake_api.command_menus[("chat", parisa.id, "")]
    assert {"command": "balance", "description": "Your balance and credits"} in menu

    await fake_api.send(parisa, "/balance")
    balance = await fake_api.next_event(parisa.id)
    assert "Available: <b>50.00 credits</b>" in balance.text


async def test_a_chosen_language_wins_over_the_client_language(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, parisa: User
) -> None:
    await fake_api.send(parisa, "/language")
    choices = await fake_api.next_event(parisa.id)
    await fake_api.answer(await fake_api.tap(parisa, choices, "lang:ru"))
    await fake_api.next_event(parisa.id)
    await fake_api.send(parisa, "/help")  # the client still says fa-IR
    help_text = await fake_api.next_event(parisa.id)
    assert any("\u0400" <= char <= "\u04ff" for char in help_text.text)  # in Russian
    assert await _stored(db, parisa.id) == ("ru", True)


async def test_a_forged_language_button_changes_nothing(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, parisa: User
) -> None:
    await fake_api.send(parisa, "/start")
    menu = await fake_api.next_event(parisa.id)
    answer = await fake_api.answer(await fake_api.tap(parisa, menu, "lang:xx"))
    assert answer["show_alert"]
    assert await _stored(db, parisa.id) == ("fa", False)


async def test_command_menus_are_published_in_every_language_and_for_admins(
    bot: BotApplication, fake_api: FakeBotAPI
) -> None:
    for code in i18n.LANGUAGES:
        key = ("default", None, "" if code == "en" else code)
        described = {c["command"]: c["description"] for c in fake_api.command_menus[key]}
        assert described["balance"] == CATALOGS.get(code)._("Your balance and credits")
    admin_menu = {c["command"] for c in fake_api.command_menus[("chat", ADMIN_ID, "")]}
    assert {"pending", "resellers", "audit", "language"} <= admin_menu


async def test_admins_choose_the_admin_groups_language_and_its_posts_follow(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    boss, member = fake_api.user(ADMIN_ID, "Boss"), fake_api.user(4242, "Member")
    await fake_api.send(member, "/language", chat_id=ADMIN_CHAT_ID)
    assert (await fake_api.next_event(ADMIN_CHAT_ID)).text == EN._("Only admins can do that.")
    await fake_api.send(boss, "/language", chat_id=ADMIN_CHAT_ID)
    choices = await fake_api.next_event(ADMIN_CHAT_ID)
    forged = await fake_api.answer(await fake_api.tap(member, choices, "lang:fa"))
    assert forged["show_alert"] and await _stored(db, ADMIN_CHAT_ID) in (None, ("en", False))
    await fake_api.answer(await fake_api.tap(boss, choices, "lang:fa"))
    chosen = await fake_api.next_event(ADMIN_CHAT_ID)
    assert chosen.text == FA._("✅ From now on I will write in this group in English.")
    assert await _stored(db, ADMIN_CHAT_ID) == ("fa", True)
    assert await _stored(db, ADMIN_ID) in (None, ("en", False))  # the admin's own is unchanged


async def test_a_staff_admins_command_menu_lists_only_what_their_permissions_allow(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await roles.add_staff(
        db, telegram_id=8001, name="Sam", permissions=[Permission.TOPUPS],
        owner_ids={ADMIN_ID}, actor=f"tg:{ADMIN_ID}", now=dt.datetime.now(dt.UTC),
    )  # fmt: skip
    sam = fake_api.user(8001, "Sam")
    await fake_api.send(sam, "/start")
    await fake_api.next_event(sam.id)
    for _ in range(50):  # the menu follows the answer
        if ("chat", 8001, "") in fake_api.command_menus:
            break
        await asyncio.sleep(0.05)
    menu = {c["command"] for c in fake_api.command_menus[("chat", 8001, "")]}
    assert "pending" in menu and not {"resellers", "audit", "log", "debtors", "catalogue"} & menu
    owner = {c["command"] for c in fake_api.command_menus[("chat", ADMIN_ID, "")]}
    assert {"pending", "resellers", "audit", "log", "debtors", "catalogue"} <= owner


def _menus_set(fake_api: FakeBotAPI, chat_id: int) -> int:
    """How many times the chat's own command menu was set."""
    scopes = [params.get("scope") for method, params in fake_api.requests
              if method == "setMyCommands"]  # fmt: skip
    read = [json.loads(s) if isinstance(s, str) else s for s in scopes]
    return sum(1 for scope in read if scope and int(scope.get("chat_id", 0)) == chat_id)


async def test_choosing_a_language_sets_the_menu_once_and_the_next_start_leaves_it(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, parisa: User
) -> None:
    """The menu in the chosen language is what this process shows the chat now: the
    next /start finds it so and sets nothing again."""
    await fake_api.send(parisa, "/start")
    await fake_api.next_event(parisa.id)
    for _ in range(50):  # the menu follows the answer
        if _menus_set(fake_api, parisa.id):
            break
        await asyncio.sleep(0.05)
    assert _menus_set(fake_api, parisa.id) == 1
    await fake_api.send(parisa, "/language")
    choices = await fake_api.next_event(parisa.id)
    await fake_api.answer(await fake_api.tap(parisa, choices, "lang:en"))
    await fake_api.next_event(parisa.id)
    assert _menus_set(fake_api, parisa.id) == 2  # in English, before the answer
    await fake_api.send(parisa, "/start")
    await fake_api.next_event(parisa.id)
    await asyncio.sleep(0.2)
    assert _menus_set(fake_api, parisa.id) == 2
