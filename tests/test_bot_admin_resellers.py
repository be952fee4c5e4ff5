"""The admin's resellers screens: the list (paged by length), the card, suspending with a
reason (logged, the reseller told) and reactivating; nobody else can."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.context import BotApplication
from bot.db import Database
from handlers.pages import TEXT_LIMIT, length
from models import AdminAction, OutboxMessage, Reseller, ResellerStatus
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    return fake_api.user(1001, "Alice")


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _status(db: Database, telegram_id: int = 1001) -> str:
    async with db.transaction() as session:
        status = await session.scalar(
            select(Reseller.status).where(Reseller.telegram_id == telegram_id)
        )
    assert status is not None
    return status


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _card(fake_api: FakeBotAPI, boss: User) -> Event:
    await fake_api.send(boss, "/resellers")
    listing = await fake_api.next_event(boss.id)
    return await _tap(fake_api, boss, listing, "adm:rs:1001")


async def test_an_admin_suspends_a_reseller_with_a_reason_and_reactivates_them(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    card = await _card(fake_api, boss)
    assert "Alice" in card.text and "Status: <b>active</b>" in card.text
    prompt = await _tap(fake_api, boss, card, "adm:sus:1001")
    assert "Send the reason" in prompt.text
    await fake_api.send(boss, "x" * 256)
    again = await fake_api.next_event(boss.id)
    assert "256 characters" in again.text and "Send the reason" in again.text
    assert await _status(db) == ResellerStatus.ACTIVE
    await fake_api.send(boss, "Unpaid <invoices>")
    done = await fake_api.next_event(boss.id)
    assert done.message["message_id"] == prompt.message["message_id"]
    assert "Status: <b>suspended</b>" in done.text and "told why" in done.text
    assert await _status(db) == ResellerStatus.SUSPENDED

    back = await _tap(fake_api, boss, done, "adm:act:1001")
    assert "Status: <b>active</b>" in back.text
    second = await _tap(fake_api, boss, back, "adm:act:1001")  # a second tap changes nothing
    assert "already active" in second.text

    async with db.transaction() as session:
        actions = (
            await session.execute(
                select(
                    AdminAction.actor, AdminAction.action, AdminAction.reason, AdminAction.details
                )
                .where(AdminAction.actor == f"tg:{ADMIN_ID}")  # not the fixtures' setup
                .order_by(AdminAction.id)
            )
        ).all()
        notices = list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
    assert [(a.actor, a.action, a.reason) for a in actions] == [
        (f"tg:{ADMIN_ID}", "reseller_suspended", "Unpaid <invoices>"),
        (f"tg:{ADMIN_ID}", "reseller_activated", None),
    ]
    assert json.loads(actions[0].details) == {
        "before": {"status": "active"},
        "after": {"status": "suspended"},
    }
    assert notices == ["reseller_suspended", "reseller_activated"]


async def test_suspending_without_a_reason_takes_one_tap_and_a_second_tap_changes_nothing(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    card = await _card(fake_api, boss)
    prompt = await _tap(fake_api, boss, card, "adm:sus:1001")
    done = await _tap(fake_api, boss, prompt, "adm:susy:1001")
    assert "Status: <b>suspended</b>" in done.text
    again = await _tap(fake_api, boss, prompt, "adm:susy:1001")
    assert "already suspended" in again.text
    async with db.transaction() as session:
        count = len(
            list(
                await session.scalars(
                    select(AdminAction.id).where(AdminAction.action == "reseller_suspended")
                )
            )
        )
    assert count == 1


async def test_a_reseller_cannot_open_or_use_the_admin_reseller_buttons(
    db: Database, fake_api: FakeBotAPI, alice: User, boss: User
) -> None:
    await make_reseller(db, 1002, name="Bob")
    bob = fake_api.user(1002, "Bob")
    await fake_api.send(alice, "/start")
    menu = await fake_api.next_event(alice.id)
    for data in ("adm:rs:1002", "adm:sus:1002", "adm:susy:1002", "adm:act:1002", "adm:res:0"):
        answer = await fake_api.answer(await fake_api.tap(alice, menu, data))
        assert "Only admins" in answer["text"]
    await fake_api.send(alice, "/resellers")
    refused = await fake_api.next_event(alice.id)
    assert "Only admins" in refused.text
    assert await _status(db, 1002) == ResellerStatus.ACTIVE
    assert bob.id == 1002


async def test_the_resellers_list_pages_by_length_and_shows_everyone_once(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    for i in range(40):
        await make_reseller(db, 5000 + i, name=f"{i:02d} " + "Ж" * 95)
    await fake_api.send(boss, "/resellers")
    event = await fake_api.next_event(boss.id)
    seen: list[str] = []
    pages_seen = 0
    while True:
        pages_seen += 1
        assert length(event.text) <= TEXT_LIMIT
        seen += [line for line in event.text.splitlines() if line.startswith("• ")]
        forward = [data for text, data in event.buttons if text.startswith("Next")]
        if not forward:
            break
        event = await _tap(fake_api, boss, event, forward[0])
    assert pages_seen >= 3  # at most 15 a page, fewer when the names are long
    assert len(seen) == 40 and len(set(seen)) == 40
