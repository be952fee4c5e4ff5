"""Registering a reseller in chat: by a contact shared through Telegram's user picker or by
a typed id of someone who has started the bot; type, limit and threshold with their bad
inputs; saved once however often Save is tapped; logged and greeted in their language."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import func, select

from bot.context import BotApplication
from bot.db import Database
from bot.settings import Settings
from handlers.admin import enrol_views, reseller_views
from handlers.admin import reseller_callbacks as buttons
from handlers.reader import Reader
from models import AdminAction, Billing, ChatLanguage, OutboxMessage, Reseller
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller
from tests.test_jobs import drain


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    assert data in [d for _, d in event.buttons], f"{data} not on {event.buttons}"
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _start(fake_api: FakeBotAPI, boss: User) -> Event:
    await fake_api.send(boss, "/resellers")
    listing = await fake_api.next_event(boss.id)
    await fake_api.answer(await fake_api.tap(boss, listing, buttons.NEW.build()))
    return await fake_api.next_event(boss.id)


def _picker(event: Event) -> dict[str, object]:
    keyboard = event.message["reply_keyboard"]["keyboard"]
    [[button]] = keyboard
    request: dict[str, object] = button["request_users"]
    return request


async def _count(db: Database, telegram_id: int) -> tuple[int, int, int]:
    async with db.transaction() as session:
        reseller_id = await session.scalar(
            select(Reseller.id).where(Reseller.telegram_id == telegram_id)
        )
        logged = await session.scalar(
            select(func.count())
            .select_from(AdminAction)
            .where(
                AdminAction.action == "reseller_registered", AdminAction.reseller_id == reseller_id
            )
        )
        greeted = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.kind == "reseller_welcome", OutboxMessage.chat_id == telegram_id)
        )
    return (1 if reseller_id else 0), logged or 0, greeted or 0


async def test_an_admin_registers_a_shared_contact_as_postpaid_once_and_they_are_greeted(
    bot: BotApplication, db: Database, settings: Settings, fake_api: FakeBotAPI, boss: User
) -> None:
    dana = fake_api.user(3001, "Dana", username="dana_sells")
    dana.language_code = "fa"
    await fake_api.send(dana, "/start")  # she has started the bot, in Persian
    await fake_api.next_event(dana.id)

    ask = await _start(fake_api, boss)
    request = _picker(ask)
    assert request["request_id"] == enrol_views.PICK_REQUEST_ID and request["user_is_bot"] is False
    await fake_api.send_users_shared(boss, 99, [dana])  # another request: not this one
    assert "Send a Telegram id" in (await fake_api.next_event(boss.id)).text
    await fake_api.send_users_shared(boss, enrol_views.PICK_REQUEST_ID, [dana])
    chosen = await fake_api.next_event(boss.id)
    assert "Dana" in chosen.text and chosen.message["reply_keyboard"] == {"remove_keyboard": True}
    kind = await fake_api.next_event(boss.id)
    limit = await _tap(fake_api, boss, kind, buttons.NEW_TYPE.build(Billing.POSTPAID))
    for typed, problem in (
        ("1.001", "at most two decimals"),
        ("-3", "cannot be negative"),
        ("a lot", "not a number"),
    ):
        await fake_api.send(boss, typed)
        assert problem in (await fake_api.next_event(boss.id)).text, typed
    await fake_api.send(boss, "300")
    await fake_api.next_event(boss.id)
    await fake_api.send(boss, "20.5")
    summary = await fake_api.next_event(boss.id)
    assert summary.message["message_id"] == limit.message["message_id"]
    for part in ("Dana @dana_sells", "3001", "Type: postpaid", "300.00", "20.50"):
        assert part in summary.text, part
    save = next(data for _, data in summary.buttons if data.startswith("adm:rns:"))
    first = await fake_api.tap(boss, summary, save)
    second = await fake_api.tap(boss, summary, save)  # a double tap
    await fake_api.answer(first)
    await fake_api.answer(second)  # the flow is over: it saves nothing
    done = await fake_api.next_event(boss.id)
    assert "Registered" in done.text and "Type: postpaid" in done.text
    assert await _count(db, 3001) == (1, 1, 1)

    async with db.transaction() as session:
        dana_row = await session.scalar(select(Reseller).where(Reseller.telegram_id == 3001))
        details = await session.scalar(
            select(AdminAction.details).where(AdminAction.action == "reseller_registered")
        )
        actor = await session.scalar(
            select(AdminAction.actor).where(AdminAction.action == "reseller_registered")
        )
    assert dana_row is not None and dana_row.username == "dana_sells"
    assert dana_row.low_balance_threshold == 2_050 and actor == f"tg:{ADMIN_ID}"
    assert json.loads(details or "{}")["after"]["credit_limit"] == 30_000

    await drain(bot, db, settings, dt.datetime.now(dt.UTC))
    welcome = await fake_api.next_event(dana.id)
    async with db.transaction() as session:
        assert (await session.get(ChatLanguage, 3001)).language == "fa"  # type: ignore[union-attr]
    persian = Reader.of(settings, bot.bot_data["i18n"].get("fa"))
    assert welcome.text == reseller_views.welcome_notice({}, persian)[0]


async def test_a_typed_id_of_someone_who_started_the_bot_is_asked_a_name(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    erin = fake_api.user(3002, "Erin")
    await fake_api.send(erin, "/start")
    await fake_api.next_event(erin.id)
    await _start(fake_api, boss)
    await fake_api.send(boss, "۳۰۰۲")  # Persian digits are digits too
    chosen = await fake_api.next_event(boss.id)
    assert "3002" in chosen.text and chosen.message["reply_keyboard"] == {"remove_keyboard": True}
    name = await fake_api.next_event(boss.id)
    assert "What is the name" in name.text
    await fake_api.send(boss, "   ")
    assert "1 to 100 characters" in (await fake_api.next_event(boss.id)).text
    await fake_api.send(boss, "Erin's shop")
    kind = await fake_api.next_event(boss.id)
    threshold = await _tap(fake_api, boss, kind, buttons.NEW_TYPE.build(Billing.PREPAID))
    assert "Low-balance threshold" in threshold.text
    await fake_api.send(boss, "0")
    summary = await fake_api.next_event(boss.id)
    assert "Type: prepaid" in summary.text and "Collection limit" not in summary.text
    save = next(data for _, data in summary.buttons if data.startswith("adm:rns:"))
    done = await _tap(fake_api, boss, summary, save)
    assert "Registered" in done.text and "Erin&#x27;s shop" in done.text
    assert await _count(db, 3002) == (1, 1, 1)


async def test_a_typed_id_in_digits_that_are_no_number_is_refused_and_persian_digits_read(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await _start(fake_api, boss)
    for typed in ("²", "4²", "①"):  # digits to Unicode, but no number to int()
        await fake_api.send(boss, typed)
        again = await fake_api.next_event(boss.id)
        assert "Send a Telegram id" in again.text and _picker(again), typed
    await fake_api.send(boss, "۴۲۴۲۴۲")  # 424242 in Persian digits
    assert "<code>424242</code>" in (await fake_api.next_event(boss.id)).text
    assert await _count(db, 424242) == (0, 0, 0)


async def test_an_unknown_id_an_unknown_username_or_a_reseller_is_not_registered(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await make_reseller(db, 1001, name="Alice", username="alice_s")
    alice = fake_api.user(1001, "Alice", username="alice_s")
    await _start(fake_api, boss)
    await fake_api.send(boss, "424242")
    assert "have not started this bot" in (await fake_api.next_event(boss.id)).text
    await fake_api.send(boss, "@someone_else")
    assert "I do not know @someone_else" in (await fake_api.next_event(boss.id)).text
    await fake_api.send(boss, "@alice_s")
    assert "already a reseller: Alice" in (await fake_api.next_event(boss.id)).text
    await fake_api.send(boss, "1001")
    assert "already a reseller: Alice" in (await fake_api.next_event(boss.id)).text
    await fake_api.send_users_shared(boss, enrol_views.PICK_REQUEST_ID, [alice])
    again = await fake_api.next_event(boss.id)
    assert "already a reseller: Alice" in again.text and _picker(again)
    await fake_api.send(boss, "/cancel")
    cancelled = await fake_api.next_event(boss.id)
    assert "Nobody was registered" in cancelled.text
    assert cancelled.message["reply_keyboard"] == {"remove_keyboard": True}
    assert await _count(db, 424242) == (0, 0, 0)
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Reseller)) == 1
