"""A user is in one flow at a time: starting another flow, or /start, ends the one under
way with one line on its message, so an abandoned flow never swallows later answers."""

from __future__ import annotations

import pytest

from bot.context import BotApplication
from bot.db import Database
from bot.services import plans
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, setup_topups

TOPUP_REPLACED = "Top-up cancelled: you started something else"
SALE_REPLACED = "Sale cancelled: you started something else"


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    await setup_topups(db)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_050)
    return fake_api.user(1001, "Alice")


async def _ask_amount(fake_api: FakeBotAPI, user: User) -> Event:
    await fake_api.send(user, "/topup")
    ask = await fake_api.next_event(user.id)
    assert "How many credits" in ask.text
    return ask


async def _until(fake_api: FakeBotAPI, user: User, part: str) -> Event:
    """The next event whose text has ``part`` (skipping unrelated ones such as answers)."""
    for _ in range(5):
        event = await fake_api.next_event(user.id)
        if part in event.text:
            return event
    raise AssertionError(f"no event with {part!r}")


async def test_a_new_customer_started_from_the_menu_ends_the_top_up_and_gets_the_username(
    bot: BotApplication, fake_api: FakeBotAPI, alice: User
) -> None:
    topup = await _ask_amount(fake_api, alice)
    await fake_api.send(alice, "/start")
    replaced = await fake_api.next_event(alice.id)
    assert replaced.message["message_id"] == topup.message["message_id"]
    assert TOPUP_REPLACED in replaced.text
    menu = await fake_api.next_event(alice.id)
    await fake_api.answer(await fake_api.tap(alice, menu, "cu:new"))
    ask = await _until(fake_api, alice, "customer's username")
    await fake_api.send(alice, "john.doe")
    picker = await fake_api.next_event(alice.id)
    assert "not a number" not in picker.text
    assert picker.message["message_id"] == ask.message["message_id"]
    assert "IPTV 1 month" in str(picker.buttons)


async def test_a_command_that_starts_a_flow_ends_the_other_one_with_one_line(
    bot: BotApplication, fake_api: FakeBotAPI, alice: User
) -> None:
    topup = await _ask_amount(fake_api, alice)
    await fake_api.send(alice, "/activate")
    replaced = await fake_api.next_event(alice.id)
    assert replaced.method == "editMessageText"
    assert replaced.message["message_id"] == topup.message["message_id"]
    assert TOPUP_REPLACED in replaced.text
    await _until(fake_api, alice, "customer's username")
    await fake_api.send(alice, "100")  # a valid username; no longer read as an amount
    picker = await fake_api.next_event(alice.id)
    assert "IPTV 1 month" in str(picker.buttons)


async def test_a_top_up_button_on_an_old_menu_ends_the_sale_under_way(
    bot: BotApplication, fake_api: FakeBotAPI, alice: User
) -> None:
    await fake_api.send(alice, "/start")
    menu = await fake_api.next_event(alice.id)
    await fake_api.send(alice, "/activate")
    sale = await _until(fake_api, alice, "customer's username")
    await fake_api.answer(await fake_api.tap(alice, menu, "tu:new"))
    replaced = await _until(fake_api, alice, SALE_REPLACED)
    assert replaced.message["message_id"] == sale.message["message_id"]
    await _until(fake_api, alice, "How many credits")
    await fake_api.send(alice, "150")
    priced = await fake_api.next_event(alice.id)
    assert "150.00" in priced.text


async def test_cancel_ends_the_flow_under_way_in_its_own_words(
    bot: BotApplication, fake_api: FakeBotAPI, alice: User
) -> None:
    await fake_api.send(alice, "/activate")
    await _until(fake_api, alice, "customer's username")
    await fake_api.send(alice, "/cancel")
    cancelled = await fake_api.next_event(alice.id)
    assert "Nothing was charged" in cancelled.text
    await _ask_amount(fake_api, alice)
    await fake_api.send(alice, "/cancel")
    cancelled = await fake_api.next_event(alice.id)
    assert "Top-up cancelled" in cancelled.text
    await fake_api.send(alice, "hello")  # no flow: the stray-message fallback answers
    stray = await fake_api.next_event(alice.id)
    assert "cancelled" not in stray.text.lower()
