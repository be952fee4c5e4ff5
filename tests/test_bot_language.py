"""Tried as a new user would: a Persian client is answered in Persian (digits included),
/language switches every later message, and the command menus come in each language."""

from __future__ import annotations

import pytest

from bot import i18n
from bot.context import BotApplication
from bot.db import Database
from models import ChatLanguage
from tests.conftest import ADMIN_ID
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
