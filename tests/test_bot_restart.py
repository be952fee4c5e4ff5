"""A restart in the middle of /topup or /activate: the next answer continues the flow from
the same step on the same message, and the confirmation still charges once."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, plans
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from models import ConversationState, TopUpRequest, UserData
from tests.conftest import ADMIN_CHAT_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, setup_topups

Restart = Callable[[], Awaitable[None]]


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    await setup_topups(db)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_050)
    return fake_api.user(1001, "Alice")


@asynccontextmanager
async def restartable(settings: Settings, db: Database) -> AsyncIterator[Restart]:
    """The bot running, and a way to stop it and start a new one on the same database."""
    current: list[AbstractAsyncContextManager[BotApplication]] = [running_bot(settings, db)]
    await current[0].__aenter__()

    async def restart() -> None:
        await current[0].__aexit__(None, None, None)
        current[0] = running_bot(settings, db)
        await current[0].__aenter__()

    try:
        yield restart
    finally:
        await current[0].__aexit__(None, None, None)


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    return await fake_api.answer(await fake_api.tap(user, event, data))


async def _requests(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(TopUpRequest)) or 0)


async def _balance(db: Database) -> int:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, 1001)
        return (await ledger.balance(session, reseller.account_id)).balance


def _same_message(event: Event, first: Event) -> None:
    assert event.method == "editMessageText", event
    assert event.message["message_id"] == first.message["message_id"]


@pytest.mark.parametrize("restart_at", ["amount", "method", "proof", "confirm"])
async def test_a_top_up_continues_after_a_restart_at_each_step_and_is_sent_once(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User, restart_at: str
) -> None:
    async with restartable(settings, db) as restart:

        async def step(name: str) -> None:
            if name == restart_at:
                await restart()

        await fake_api.send(alice, "/topup")
        ask = await fake_api.next_event(alice.id)
        assert "How many credits" in ask.text
        await step("amount")
        await fake_api.send(alice, "100")
        priced = await fake_api.next_event(alice.id)
        _same_message(priced, ask)
        assert "Top up: 100.00 credits" in priced.text
        await step("method")
        await _tap(fake_api, alice, priced, priced.button("Bank"))
        instructions = await fake_api.next_event(alice.id)
        _same_message(instructions, ask)
        assert "IBAN DE00" in instructions.text
        await step("proof")
        await fake_api.send(alice, "TX-12345")
        summary = await fake_api.next_event(alice.id)
        _same_message(summary, ask)
        assert "Check your top-up request" in summary.text and "TX-12345" in summary.text
        await step("confirm")
        confirm = summary.key("✅ Confirm")
        await _tap(fake_api, alice, summary, confirm)
        done = await fake_api.next_event(alice.id)
        _same_message(done, ask)
        assert "request #1 sent" in done.text
        post = await fake_api.next_event(ADMIN_CHAT_ID)
        assert "Top-up #1" in post.text
        again = await _tap(fake_api, alice, summary, confirm)
        assert "already sent" in again["text"]
    assert await _requests(db) == 1
    assert fake_api.unread(ADMIN_CHAT_ID) == []


async def test_a_top_up_confirmed_before_a_restart_is_not_sent_again_from_its_old_screen(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    async with restartable(settings, db) as restart:
        await fake_api.send(alice, "/topup")
        await fake_api.next_event(alice.id)
        await fake_api.send(alice, "100")
        priced = await fake_api.next_event(alice.id)
        await _tap(fake_api, alice, priced, priced.button("Bank"))
        await fake_api.next_event(alice.id)
        await fake_api.send(alice, "TX-12345")
        summary = await fake_api.next_event(alice.id)
        await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
        assert "request #1 sent" in (await fake_api.next_event(alice.id)).text
        await restart()
        again = await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
        assert "Request #1 was already sent" in again["text"]
    assert await _requests(db) == 1


@pytest.mark.parametrize("restart_at", ["username", "plan", "confirm"])
async def test_an_activation_continues_after_a_restart_at_each_step_and_charges_once(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User, restart_at: str
) -> None:
    async with restartable(settings, db) as restart:

        async def step(name: str) -> None:
            if name == restart_at:
                await restart()

        await fake_api.send(alice, "/activate")
        ask = await fake_api.next_event(alice.id)
        assert "customer's username" in ask.text
        await step("username")
        await fake_api.send(alice, "John.Doe")
        picker = await fake_api.next_event(alice.id)
        _same_message(picker, ask)
        await step("plan")
        await _tap(fake_api, alice, picker, picker.button("1 month"))
        summary = await fake_api.next_event(alice.id)
        _same_message(summary, ask)
        assert "Confirm activation" in summary.text and "Customer: john.doe" in summary.text
        await step("confirm")
        confirm = summary.key("✅ Confirm")
        await _tap(fake_api, alice, summary, confirm)
        done = await fake_api.next_event(alice.id)
        assert "john.doe activated" in done.text and "Charged: 10.50 credits" in done.text
        again = await _tap(fake_api, alice, summary, confirm)
        assert "nothing more was charged" in again["text"]
    assert await _balance(db) == 3_950
    await assert_audit_ok(db)


async def test_an_activation_confirmed_before_a_restart_charges_nothing_more_from_its_old_screen(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    async with restartable(settings, db) as restart:
        await fake_api.send(alice, "/activate")
        await fake_api.next_event(alice.id)
        await fake_api.send(alice, "John.Doe")
        picker = await fake_api.next_event(alice.id)
        await _tap(fake_api, alice, picker, picker.button("1 month"))
        summary = await fake_api.next_event(alice.id)
        await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
        assert "activated" in (await fake_api.next_event(alice.id)).text
        await restart()
        again = await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
        assert "nothing more was charged" in again["text"]
    assert await _balance(db) == 3_950
    await assert_audit_ok(db)


async def _age_conversations(db: Database, by: dt.timedelta) -> None:
    async with db.transaction() as session:
        rows = (await session.scalars(select(ConversationState))).all()
        assert len(rows) == 1, "the flow's step was stored"
        await session.execute(update(ConversationState).values(updated_at=rows[0].updated_at - by))


async def test_a_flow_older_than_the_timeout_ends_politely_when_the_bot_comes_back(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    async with running_bot(settings, db):
        await fake_api.send(alice, "/topup")
        ask = await fake_api.next_event(alice.id)
    await _age_conversations(db, dt.timedelta(minutes=settings.conversation_timeout_minutes))
    async with running_bot(settings, db):
        ended = await fake_api.next_event(alice.id)
        _same_message(ended, ask)
        assert "timed out" in ended.text
        await fake_api.send(alice, "100")  # no longer read as an amount
        stray = await fake_api.next_event(alice.id)
        assert "Top up: 100.00" not in stray.text
    async with db.transaction() as session:
        assert (await session.scalars(select(ConversationState))).all() == []
        assert (await session.scalars(select(UserData))).all() == []


async def test_a_restored_flow_times_out_when_its_time_is_up_not_a_whole_timeout_later(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    async with running_bot(settings, db):
        await fake_api.send(alice, "/activate")
        ask = await fake_api.next_event(alice.id)
    timeout = dt.timedelta(minutes=settings.conversation_timeout_minutes)
    await _age_conversations(db, timeout - dt.timedelta(seconds=2))
    async with running_bot(settings, db):
        assert fake_api.unread(alice.id) == []  # not yet: two seconds are left
        ended = await fake_api.next_event(alice.id, within=10)
        _same_message(ended, ask)
        assert "timed out" in ended.text


async def test_an_answer_after_the_restart_restarts_the_timeout_as_before(
    settings: Settings, db: Database, fake_api: FakeBotAPI, alice: User
) -> None:
    async with running_bot(settings, db):
        await fake_api.send(alice, "/topup")
        await fake_api.next_event(alice.id)
    timeout = dt.timedelta(minutes=settings.conversation_timeout_minutes)
    await _age_conversations(db, timeout - dt.timedelta(seconds=2))
    async with running_bot(settings, db):
        await fake_api.send(alice, "100")
        assert "Top up: 100.00" in (await fake_api.next_event(alice.id)).text
        await asyncio.sleep(4)  # past the restored flow's two seconds
        assert fake_api.unread(alice.id) == []  # the answer gave it a whole timeout again
