"""Journeys through the real application and the fake Bot API: /start, /help, fallbacks."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

import pytest

from bot.context import BotApplication
from bot.db import Database
from bot.errors import SORRY
from bot.services import downline, plans, sales
from bot.services.provisioning import LocalProvider
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller


async def test_stranger_is_told_they_are_not_registered_with_their_id(
    bot: BotApplication, fake_api: FakeBotAPI
) -> None:
    stranger = fake_api.user(4242, "Eve")
    await fake_api.send(stranger, "/start")
    reply = await fake_api.next_event(stranger.id)
    assert reply.method == "sendMessage"
    assert "not registered" in reply.text
    assert "<code>4242</code>" in reply.text
    assert reply.buttons == []


async def test_reseller_gets_the_reseller_menu(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, name="Alice <Shop>")
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/start")
    reply = await fake_api.next_event(alice.id)
    assert "Alice &lt;Shop&gt;" in reply.text  # user-supplied text is escaped
    labels = [label for label, _ in reply.buttons]
    assert labels == [
        "💰 Balance", "➕ Top up", "👤 New customer", "🔁 Renew",
        "👥 Customers", "🧾 My top-ups", "📜 History", "🌐 Language", "📣 Announce",
        "💸 Transfer", "❓ Help",
    ]  # fmt: skip


async def test_admin_gets_the_admin_menu(bot: BotApplication, fake_api: FakeBotAPI) -> None:
    admin = fake_api.user(ADMIN_ID, "Boss")
    await fake_api.send(admin, "/start")
    reply = await fake_api.next_event(admin.id)
    assert "Admin menu" in reply.text
    assert any("Resellers" in label for label, _ in reply.buttons)


async def test_bot_registers_its_commands(bot: BotApplication, fake_api: FakeBotAPI) -> None:
    assert {c["command"] for c in fake_api.commands} >= {
        "start", "balance", "help", "cancel", "status", "unlink",
    }  # fmt: skip


async def test_a_linked_customers_help_names_status_and_unlink(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, credit=5_000)
    plan = await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=1_000)
    sold = await sales.sell(
        db, LocalProvider(), telegram_id=1001, plan_id=plan.id, key="k1",
        now=dt.datetime.now(dt.UTC), provider_seconds=5, username="carol",
    )  # fmt: skip
    assert sold.customer.link_token
    carol = fake_api.user(5001, "Carol")
    await fake_api.send(carol, f"/start {sold.customer.link_token}")
    assert "Linked!" in (await fake_api.next_event(carol.id)).text
    await fake_api.send(carol, "/help")
    help_text = (await fake_api.next_event(carol.id)).text
    assert "/status" in help_text and "/unlink" in help_text
    stranger = fake_api.user(4242, "Eve")  # not linked yet: told how to link
    await fake_api.send(stranger, "/help")
    help_text = (await fake_api.next_event(stranger.id)).text
    assert "invite link your reseller sent you" in help_text and "4242" in help_text


async def test_help_cancel_unknown_command_and_stray_input(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001)
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/help")
    assert "/balance" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "/cancel")
    assert "Nothing to cancel" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "/frobnicate")
    assert "don't know that command" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "hello?")
    assert "/start" in (await fake_api.next_event(alice.id)).text
    await fake_api.send_photo(alice)
    assert "/start" in (await fake_api.next_event(alice.id)).text
    await fake_api.send_sticker(alice)
    assert "/start" in (await fake_api.next_event(alice.id)).text


async def test_menu_buttons_edit_the_message_in_place(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, credit=12_345)
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/start")
    menu = await fake_api.next_event(alice.id)
    tap = await fake_api.tap(alice, menu, menu.key("💰 Balance"))
    await fake_api.answer(tap)
    shown = await fake_api.next_event(alice.id)
    assert shown.method == "editMessageText"
    assert shown.message["message_id"] == menu.message["message_id"]
    assert "123.45 credits" in shown.text
    # A second tap on the same screen changes nothing and still answers the button.
    tap = await fake_api.tap(alice, shown, shown.key("⬅️ Menu"))
    await fake_api.answer(tap)
    back = await fake_api.next_event(alice.id)
    assert "What would you like to do?" in back.text
    tap = await fake_api.tap(alice, back, back.key("❓ Help"))
    await fake_api.answer(tap)
    assert "/history" in (await fake_api.next_event(alice.id)).text


async def test_stale_and_forged_buttons_are_refused_politely(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001)
    alice = fake_api.user(1001, "Alice")
    await fake_api.send(alice, "/start")
    menu = await fake_api.next_event(alice.id)
    for forged in ("garbage", "hist:-1", "hist:abc", "bal:999", "tu:m:1", "x" * 64):
        answer = await fake_api.answer(await fake_api.tap(alice, menu, forged))
        assert "no longer valid" in answer["text"]
    assert fake_api.unread(alice.id) == []


async def test_a_failing_handler_logs_context_and_tells_the_user_one_line(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    await make_reseller(db, 1001)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("bot.services.wallet.balance_summary", broken)
    alice = fake_api.user(1001, "Alice")
    with caplog.at_level(logging.ERROR):
        await fake_api.send(alice, "/balance")
        reply = await fake_api.next_event(alice.id)
        await fake_api.send(alice, "/start")
        menu = await fake_api.next_event(alice.id)
        answer = await fake_api.answer(await fake_api.tap(alice, menu, "bal"))
    assert reply.text == SORRY
    assert answer["text"] == SORRY and answer.get("show_alert") in (True, "true")
    failures = [r for r in caplog.records if "handling update" in r.getMessage()]
    assert len(failures) == 2
    assert "user 1001" in failures[0].getMessage()
    assert failures[0].exc_info and "database on fire" in str(failures[0].exc_info[1])


async def test_a_parents_help_and_command_menu_name_the_sub_resellers_commands(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await make_reseller(db, 1002, name="Bob")
    await downline.set_depth(
        db, telegram_id=1001, depth=1, actor=f"tg:{ADMIN_ID}", now=dt.datetime.now(dt.UTC)
    )
    for telegram_id, parent in ((1001, True), (1002, False)):
        user = fake_api.user(telegram_id, "Someone")
        await fake_api.send(user, "/help")
        text = (await fake_api.next_event(user.id)).text
        assert "/transfer - " in text and "/balance - " in text
        assert ("/subresellers - " in text) is parent and ("/prices - " in text) is parent
        await fake_api.send(user, "/start")
        await fake_api.next_event(user.id)
        for _ in range(50):  # the command menu is set after the answer
            if ("chat", telegram_id, "") in fake_api.command_menus:
                break
            await asyncio.sleep(0.05)
        menu = {c["command"] for c in fake_api.command_menus[("chat", telegram_id, "")]}
        assert "transfer" in menu and ({"subresellers", "prices"} <= menu) is parent


async def test_an_admins_help_lists_only_what_they_may_do_in_chat(
    bot: BotApplication, fake_api: FakeBotAPI
) -> None:
    boss = fake_api.user(ADMIN_ID, "Boss")
    await fake_api.send(boss, "/help")
    text = (await fake_api.next_event(boss.id)).text
    for command in ("/pending", "/resellers", "/audit", "/log", "/debtors", "/catalogue"):
        assert f"{command} - " in text
    assert "python -m bot" not in text
