"""Updates from different users run side by side, one user's strictly in order, and a
reply never waits behind the outbox's queue of notices.

Each test decides by the order things happened in, never by how long they took: a slow
panel is a provider held at a gate the test opens, so a loaded machine changes nothing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator

import pytest

from bot.db import Database
from bot.services import outbox, plans
from bot.services.alerts import Kind
from bot.services.provisioning import CreateSubscription, LocalProvider, Provisioned
from bot.settings import Settings
from jobs import notifier
from tests.conftest import running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, now


class GatedProvider(LocalProvider):
    """A panel that answers only when the test opens its gate."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.gate = asyncio.Event()

    async def create(self, request: CreateSubscription) -> Provisioned:
        self.asked.set()
        await self.gate.wait()
        return await super().create(request)


@pytest.fixture
async def provider() -> AsyncIterator[GatedProvider]:
    gated = GatedProvider()
    yield gated
    gated.gate.set()  # never leave a sale hanging at shutdown, even when a test failed


async def _confirmation(fake_api: FakeBotAPI, user: User, username: str) -> Event:
    """From /activate to the Confirm screen, one step after the other."""
    await fake_api.send(user, "/activate")
    assert "customer's username" in (await fake_api.next_event(user.id)).text
    await fake_api.send(user, username)
    picker = await fake_api.next_event(user.id)
    await fake_api.answer(await fake_api.tap(user, picker, picker.button("1 month")))
    confirm = await fake_api.next_event(user.id)
    assert "Confirm activation" in confirm.text
    return confirm


@pytest.fixture
async def people(db: Database, fake_api: FakeBotAPI) -> tuple[User, User, User]:
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    await make_reseller(db, 1002, name="Bob", credit=5_000)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_050)
    return fake_api.user(1001, "Alice"), fake_api.user(1002, "Bob"), fake_api.user(5005, "Eve")


async def test_a_sale_waiting_for_the_panel_keeps_no_one_else_waiting(
    settings: Settings,
    db: Database,
    fake_api: FakeBotAPI,
    provider: GatedProvider,
    people: tuple[User, User, User],
) -> None:
    alice, bob, stranger = people
    async with running_bot(settings, db, provider):
        confirm = await _confirmation(fake_api, alice, "john.doe")
        await fake_api.tap(alice, confirm, confirm.key("✅ Confirm"))
        await asyncio.wait_for(provider.asked.wait(), 10)
        # Alice's sale is at the panel, and stays there until the gate opens.
        await fake_api.send(bob, "/balance")
        await fake_api.send(stranger, "/start")
        assert "Your balance" in (await fake_api.next_event(bob.id)).text
        assert "not registered" in (await fake_api.next_event(stranger.id)).text
        assert fake_api.unread(alice.id) == []
        provider.gate.set()
        done = await fake_api.next_event(alice.id)
        assert "john.doe activated" in done.text


async def test_a_second_confirm_tap_waits_for_the_first_and_charges_nothing(
    settings: Settings,
    db: Database,
    fake_api: FakeBotAPI,
    provider: GatedProvider,
    people: tuple[User, User, User],
) -> None:
    alice, bob, _ = people
    async with running_bot(settings, db, provider):
        confirm = await _confirmation(fake_api, alice, "john.doe")
        first = await fake_api.tap(alice, confirm, confirm.key("✅ Confirm"))
        await asyncio.wait_for(provider.asked.wait(), 10)
        second = await fake_api.tap(alice, confirm, confirm.key("✅ Confirm"))
        # Bob's reply shows that the bot has read the second tap (it came before), yet
        # the tap waits for the first one: nothing of Alice's is handled out of turn.
        await fake_api.send(bob, "/balance")
        await fake_api.next_event(bob.id)
        assert second not in fake_api.callback_answers
        provider.gate.set()
        assert "Working on it" in (await fake_api.answer(first))["text"]
        assert "nothing more was charged" in (await fake_api.answer(second))["text"]
        assert "john.doe activated" in (await fake_api.next_event(alice.id)).text
        await fake_api.send(alice, "/balance")
        balance = await fake_api.next_event(alice.id)
        while "Your balance" not in balance.text:
            balance = await fake_api.next_event(alice.id)
        assert "Balance: 39.50 credits" in balance.text


async def test_a_command_and_the_answer_sent_right_after_it_are_handled_in_that_order(
    settings: Settings, db: Database, fake_api: FakeBotAPI, people: tuple[User, User, User]
) -> None:
    alice, bob, _ = people
    async with running_bot(settings, db):
        for user in (alice, bob):
            # Sent back to back, before the bot has answered either.
            await fake_api.send(user, "/activate")
            await fake_api.send(user, f"{user.first_name.lower()}.customer")
        for user in (alice, bob):
            ask = await fake_api.next_event(user.id)
            assert "customer's username" in ask.text
            picker = await fake_api.next_event(user.id)
            assert picker.message["message_id"] == ask.message["message_id"]
            assert f"{user.first_name.lower()}.customer" in picker.text
            assert "IPTV 1 month" in str(picker.buttons)


async def test_a_reply_goes_out_before_notices_that_were_already_waiting_to_be_sent(
    settings: Settings, db: Database, fake_api: FakeBotAPI, people: tuple[User, User, User]
) -> None:
    _, bob, _ = people
    # Slow enough that Bob's /balance is handled long before the next notice's turn.
    slow = settings.model_copy(update={"telegram_messages_per_second": 0.25})
    customers = [fake_api.user(20_000 + i, f"Customer {i}") for i in range(3)]
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            [
                outbox.Outgoing(f"notice:{c.id}", c.id, Kind.GRANT_EXPIRED, {"amount": 100})
                for c in customers
            ],
            now(),
        )
    async with running_bot(slow, db) as app:
        sender = asyncio.create_task(
            notifier.drain(
                app.bot, db, slow, now() + dt.timedelta(seconds=1), budget_seconds=60,
                last_sent={}, catalogs=app.bot_data["i18n"],
            )
        )  # fmt: skip
        try:
            await fake_api.next_event(customers[0].id, within=15)
            # The sender now waits for the next notice's turn; Bob asks meanwhile.
            await fake_api.send(bob, "/balance")
            assert "Your balance" in (await fake_api.next_event(bob.id, within=15)).text
            assert fake_api.unread(customers[1].id) == []
        finally:
            sender.cancel()
            with pytest.raises(asyncio.CancelledError):
                await sender
