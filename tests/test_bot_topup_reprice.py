"""A top-up draft holds ids: the price and the method are read again at the summary and at
✅ Confirm, and a request is never made at a price or by a method the reseller did not see."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.context import BotApplication
from bot.db import Database
from bot.draft_codec import DraftCodec
from bot.i18n import SOURCE
from bot.services import pricing
from bot.settings import Settings
from handlers import flow
from handlers.topup import views
from models import PriceTier, TopUpRequest, UserData
from tests.conftest import ADMIN_CHAT_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, setup_topups

CHANGED = views.offer_changed(SOURCE)


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, 1001, name="Alice", credit=1_000)
    await setup_topups(db)
    return fake_api.user(1001, "Alice")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    return await fake_api.answer(await fake_api.tap(user, event, data))


async def _requests(db: Database) -> list[TopUpRequest]:
    async with db.transaction() as session:
        return list((await session.scalars(select(TopUpRequest))).all())


async def _set_base_price(db: Database, unit_price: int) -> None:
    """The operator changes the price of the first tier (1.00 per credit in the fixture)."""
    async with db.transaction() as session:
        await session.execute(
            update(PriceTier).where(PriceTier.min_credits == 0).values(unit_price=unit_price)
        )


async def _to_summary(fake_api: FakeBotAPI, user: User) -> Event:
    await fake_api.send(user, "/topup")
    await fake_api.next_event(user.id)
    await fake_api.send(user, "100")
    priced = await fake_api.next_event(user.id)
    assert "Total to pay: <b>100.00 USD</b>" in priced.text
    await _tap(fake_api, user, priced, priced.button("Bank"))
    await fake_api.next_event(user.id)
    await fake_api.send(user, "TX-12345")
    summary = await fake_api.next_event(user.id)
    assert "Total: <b>100.00 USD</b>" in summary.text and CHANGED not in summary.text
    return summary


async def test_a_price_changed_before_confirm_shows_the_new_price_and_sends_nothing_at_the_old(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    summary = await _to_summary(fake_api, alice)
    await _set_base_price(db, 120)
    old_confirm = summary.key("✅ Confirm")
    await _tap(fake_api, alice, summary, old_confirm)
    fresh = await fake_api.next_event(alice.id)
    assert fresh.method == "editMessageText"
    assert fresh.message["message_id"] == summary.message["message_id"]
    assert CHANGED in fresh.text
    assert "Price per credit: 1.20 USD" in fresh.text and "Total: <b>120.00 USD</b>" in fresh.text
    assert await _requests(db) == []
    assert fake_api.unread(ADMIN_CHAT_ID) == []
    # The screen that showed 100.00 cannot send it any more; the new one sends it at 120.00.
    stale = await _tap(fake_api, alice, fresh, old_confirm)
    assert "no longer valid" in stale["text"]
    await _tap(fake_api, alice, fresh, fresh.key("✅ Confirm"))
    done = await fake_api.next_event(alice.id)
    assert "request #1 sent" in done.text and "120.00 USD" in done.text
    [request] = await _requests(db)
    assert (request.unit_price, request.total_price) == (120, 12_000)
    assert "total <b>120.00 USD</b>" in (await fake_api.next_event(ADMIN_CHAT_ID)).text


async def test_a_price_changed_after_the_amount_step_is_shown_before_the_payment(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    await fake_api.send(alice, "/topup")
    await fake_api.next_event(alice.id)
    await fake_api.send(alice, "100")
    priced = await fake_api.next_event(alice.id)
    assert "Total to pay: <b>100.00 USD</b>" in priced.text
    await _set_base_price(db, 110)
    await _tap(fake_api, alice, priced, priced.button("Bank"))
    pay = await fake_api.next_event(alice.id)
    assert CHANGED in pay.text and "Pay 110.00 USD by Bank transfer" in pay.text
    await fake_api.send(alice, "TX-12345")
    summary = await fake_api.next_event(alice.id)
    # Seen on the previous screen already: no second warning.
    assert CHANGED not in summary.text and "Total: <b>110.00 USD</b>" in summary.text
    await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
    assert "request #1 sent" in (await fake_api.next_event(alice.id)).text
    [request] = await _requests(db)
    assert request.total_price == 11_000


async def test_a_method_disabled_before_confirm_sends_nothing_and_offers_the_others(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    summary = await _to_summary(fake_api, alice)
    await pricing.disable_method(db, code="bank")
    await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
    again = await fake_api.next_event(alice.id)
    assert "How will you pay?" in again.text
    assert views.pick_another_method(SOURCE) in again.text
    assert [label for label, _ in again.buttons if "💳" in label] == ["💳 USDT TRC20"]
    assert await _requests(db) == []
    assert fake_api.unread(ADMIN_CHAT_ID) == []


def _old_shape(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft as the version that kept the quote and the method objects stored it."""
    fields = {k: v for k, v in draft["fields"].items() if k in ("chat_id", "message_id", "nonce")}
    quote = {"$type": "Quote", "fields": {"credits": 10_000, "unit_price": 100, "total": 10_000}}
    method = {"$type": "Method", "fields": {"id": 1, "code": "bank", "name": "Bank transfer",
              "instructions": "IBAN", "min_total": 0, "active": True}}  # fmt: skip
    return {"$type": "Draft", "fields": {**fields, "credits": 10_000, "quote": quote,
            "methods": [method], "method": method, "proof": draft["fields"]["proof"]}}  # fmt: skip


def test_a_draft_stored_in_the_old_shape_is_dropped_not_rebuilt() -> None:
    codec = DraftCodec(flow.draft_types())
    old = _old_shape({"fields": {"chat_id": 1001, "message_id": 7, "nonce": "abc", "proof": None}})
    assert codec.loads(json.dumps({"topup_draft": old, "lang": "en"})) == {"lang": "en"}


async def test_a_top_up_stored_in_the_old_shape_ends_politely_after_the_upgrade(
    settings: Settings, fake_api: FakeBotAPI, db: Database, alice: User
) -> None:
    async with running_bot(settings, db):
        summary = await _to_summary(fake_api, alice)
    async with db.transaction() as session:
        row = await session.get(UserData, 1001)
        assert row is not None
        data = json.loads(row.data)
        data["topup_draft"] = _old_shape(data["topup_draft"])
        row.data = json.dumps(data)
    async with running_bot(settings, db):
        ended = await _tap(fake_api, alice, summary, summary.key("✅ Confirm"))
        assert ended["text"] == views.flow_over(SOURCE)
        await fake_api.send(alice, "/topup")  # a new top-up starts from the beginning
        assert "How many credits" in (await fake_api.next_event(alice.id)).text
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(TopUpRequest)) == 0
