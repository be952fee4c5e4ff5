"""An admin sets the Stars rate and bounds from chat: ⭐ Rate and bounds on the catalogue's
card of the Stars method, the values, the confirmation with a worked conversion, ✅ Save;
bad values are refused and change nothing; a reseller cannot."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot import keyboards
from bot.context import BotApplication
from bot.db import Database
from bot.services import star_methods
from handlers.admin import catalogue_callbacks as cb
from handlers.admin.catalogue_callbacks import Kind
from handlers.payments import callbacks
from models import AdminAction, PaymentMethod
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, now, say, tap


@pytest.fixture
async def method_id(db: Database) -> int:
    return (await star_methods.configure(
        db, code="stars", name="Telegram Stars", rate=200, now=now()
    )).id  # fmt: skip


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _card(fake_api: FakeBotAPI, boss: User, method_id: int) -> Event:
    menu = await say(fake_api, boss, "/start")
    catalogue = await tap(fake_api, boss, menu, keyboards.ADMIN_CATALOGUE)
    listing = await tap(fake_api, boss, catalogue, cb.LIST.build(Kind.METHOD))
    return await tap(fake_api, boss, listing, cb.CARD.build(Kind.METHOD, method_id))


async def test_an_admin_changes_the_rate_and_bounds_from_the_methods_card(
    fake_api: FakeBotAPI, db: Database, boss: User, method_id: int
) -> None:
    card = await _card(fake_api, boss, method_id)
    assert "⭐ Telegram Stars: 1 Star = 2.00 credits" in card.text
    prompt = await tap(fake_api, boss, card, callbacks.STARS_RATE.build(method_id))
    assert "1 Star = 2.00 credits; smallest top-up none, largest none" in prompt.text
    refused = await say(fake_api, boss, "two")
    assert "Send one to three amounts" in refused.text
    refused = await say(fake_api, boss, "2.5 100 10")
    assert "must not be below the smallest" in refused.text
    confirm = await say(fake_api, boss, "2,5 10 -")
    assert "New: 1 Star = <b>2.50 credits</b>; smallest top-up 10.00 credits" in confirm.text
    assert "At the new rate 100 Stars buy 250.00 credits" in confirm.text
    async with db.transaction() as session:
        row = await session.get(PaymentMethod, method_id)
        assert row is not None and row.stars_rate == 200  # nothing before ✅ Save
    done = await tap(fake_api, boss, confirm, confirm.buttons[0][1])
    assert "Saved: Telegram Stars, 1 Star = 2.50 credits" in done.text
    async with db.transaction() as session:
        row = await session.get(PaymentMethod, method_id, populate_existing=True)
        assert row is not None
        assert (row.stars_rate, row.stars_min_credits, row.stars_max_credits) == (250, 1_000, None)
        logged = await session.scalar(
            select(AdminAction.actor).where(AdminAction.action == "stars_method")
            .order_by(AdminAction.id.desc())
        )  # fmt: skip
    assert logged == f"tg:{ADMIN_ID}"
    # The same ✅ Save again: refused, nothing written.
    await fake_api.tap(boss, confirm, confirm.buttons[0][1])
    async with db.transaction() as session:
        count = len(list(await session.scalars(
            select(AdminAction.id).where(AdminAction.action == "stars_method")
        )))  # fmt: skip
    assert count == 2


async def test_a_reseller_cannot_set_the_rate(
    fake_api: FakeBotAPI, db: Database, bot: BotApplication, method_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    alice = fake_api.user(1001, "Alice")
    menu = await say(fake_api, alice, "/start")
    answered = await fake_api.answer(
        await fake_api.tap(alice, menu, callbacks.STARS_RATE.build(method_id))
    )
    assert answered.get("show_alert") or answered.get("text")
    async with db.transaction() as session:
        row = await session.get(PaymentMethod, method_id)
        assert row is not None and row.stars_rate == 200
