"""A linked customer chooses their notices, for each of their subscriptions: promotions
off (announcements skip them, service notices still come) and only the last expiry
reminder (never none). A family chat is asked which subscription first; a forged button
naming someone else's subscription changes nothing."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import jobs
from bot.context import BotApplication
from bot.db import Database
from bot.services import announcements, customer_expiry, notice_choices, plans
from bot.services.announcement_audience import Audience, Author, Target
from bot.settings import Settings
from handlers.customer import callbacks as cs
from models import Customer, OutboxMessage, ReminderChoice
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, say, tap
from tests.test_bot_announcements import T0, add_customers


async def _linked(db: Database) -> int:
    await make_reseller(db, 1001, name="Alice")
    plan = await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_000)
    await add_customers(db, 1001, plan.id, [5001, 5002], expires_at=T0 + dt.timedelta(days=5))
    return plan.id


async def _ids(db: Database, chat_id: int) -> list[int]:
    async with db.transaction() as session:
        found = await session.scalars(
            select(Customer.id).where(Customer.chat_id == chat_id).order_by(Customer.id)
        )
        return list(found)


async def _family(db: Database, plan_id: int) -> None:
    """A second subscription, linked to Carol's chat (5001) too."""
    await add_customers(db, 1001, plan_id, [9001], expires_at=T0 + dt.timedelta(days=5))
    async with db.transaction() as session:
        row = await session.scalar(select(Customer).where(Customer.username == "c9001"))
        assert row is not None
        row.username, row.chat_id = "carols-son", 5001


async def test_a_customer_turns_promotions_off_and_asks_for_the_last_reminder_only(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await _linked(db)
    [carols] = await _ids(db, 5001)
    carol = fake_api.user(5001, "Carol")
    status = await say(fake_api, carol, "/status")
    shown = await tap(fake_api, carol, status, cs.NOTICES_OF.build(carols))
    assert "Notifications for" in shown.text and "<b>all</b>" in shown.text
    assert "<b>on</b>" in shown.text
    shown = await tap(fake_api, carol, shown, cs.NOTICES_SET.build(carols, "p", "off"))
    assert "<b>off</b>" in shown.text
    last = cs.NOTICES_SET.build(carols, "r", "last")
    shown = await tap(fake_api, carol, shown, last)
    assert "<b>only the last one</b>" in shown.text
    # A second tap on the same (older) button asks for the same: nothing changes.
    await fake_api.answer(await fake_api.tap(carol, shown, last))
    found = await notice_choices.choices_of(db, 5001, carols)
    assert found == notice_choices.Choices(carols, "c5001", False, ReminderChoice.LAST)
    # Asking for all of them again gives all of them back: there is no "none".
    shown = await tap(fake_api, carol, shown, cs.NOTICES_SET.build(carols, "r", "all"))
    assert "<b>all</b>" in shown.text
    # A stranger's chat has no choices to make.
    stranger = fake_api.user(7777, "Eve")
    assert "not linked" in (await say(fake_api, stranger, "/notifications")).text
    # Promotions skip Carol; a service notice does not.
    admin = Author(900)
    assert await announcements.reach(db, admin, Target(Audience.CUSTOMERS), T0) == 1
    service = Target(Audience.CUSTOMERS, service=True)
    assert await announcements.reach(db, admin, service, T0) == 2


async def test_a_family_chat_chooses_for_each_subscription_and_cannot_touch_anothers(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database
) -> None:
    plan_id = await _linked(db)
    await _family(db, plan_id)
    mine, sons = await _ids(db, 5001)
    [daves] = await _ids(db, 5002)
    carol = fake_api.user(5001, "Carol")
    which = await say(fake_api, carol, "/notifications")
    assert "Which one?" in which.text
    assert [d for _, d in which.buttons][:2] == [cs.NOTICES_OF.build(mine),
                                                 cs.NOTICES_OF.build(sons)]  # fmt: skip
    shown = await tap(fake_api, carol, which, cs.NOTICES_OF.build(sons))
    assert "carols-son" in shown.text
    shown = await tap(fake_api, carol, shown, cs.NOTICES_SET.build(sons, "r", "last"))
    assert "<b>only the last one</b>" in shown.text
    # Back goes to the question, not to the status.
    again = await tap(fake_api, carol, shown, cs.NOTICES.build())
    assert "Which one?" in again.text
    assert (await notice_choices.choices_of(db, 5001, mine)).reminders == ReminderChoice.ALL
    assert (await notice_choices.choices_of(db, 5001, sons)).reminders == ReminderChoice.LAST
    # A forged button naming Dave's subscription (another chat's): refused, nothing changed.
    for forged in (cs.NOTICES_SET.build(daves, "p", "off"), cs.NOTICES_OF.build(daves)):
        tapped = await fake_api.tap(carol, again, forged)
        assert "not linked to this chat" in (await fake_api.answer(tapped)).get("text", "")
    assert (await notice_choices.choices_of(db, 5002, daves)).promotions is True
    # The reminder job honours each subscription's own choice in the same chat.
    reminding = jobs.alert_settings(settings)
    expiry_day = T0 + dt.timedelta(days=5)
    await customer_expiry.queue_expiry_reminders(db, expiry_day - dt.timedelta(days=3), reminding)
    async with db.transaction() as session:
        keys = list(await session.scalars(select(OutboxMessage.key)))
    assert any(k.startswith(f"remind:{mine}:") for k in keys)
    assert not any(k.startswith(f"remind:{sons}:") for k in keys)


async def test_expiry_reminders_honour_the_customers_choice_but_the_last_always_comes(
    settings: Settings, db: Database
) -> None:
    await _linked(db)
    [daves] = await _ids(db, 5002)
    await notice_choices.choose(db, 5002, daves, reminders=ReminderChoice.LAST)
    reminding = jobs.alert_settings(settings)
    expiry_day = T0 + dt.timedelta(days=5)
    await customer_expiry.queue_expiry_reminders(db, expiry_day - dt.timedelta(days=3), reminding)
    await customer_expiry.queue_expiry_reminders(db, expiry_day, reminding)
    async with db.transaction() as session:
        rows = (await session.execute(select(OutboxMessage.chat_id, OutboxMessage.key))).all()
    by_chat: dict[int, list[str]] = {}
    for chat, key in rows:
        by_chat.setdefault(chat, []).append(key.rsplit(":", 1)[1])
    assert sorted(by_chat[5001]) == ["0", "3"]
    assert by_chat[5002] == ["0"]


async def test_a_forged_subscription_id_too_big_for_the_database_is_refused(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await _linked(db)
    carol = fake_api.user(5001, "Carol")
    status = await say(fake_api, carol, "/status")
    for forged in (cs.NOTICES_SET.build(9_999_999_999, "p", "off"), cs.NOTICES_OF.build(2**31)):
        answered = await fake_api.answer(await fake_api.tap(carol, status, forged))
        assert answered.get("text") and "cannot save" not in answered["text"]
    [carols] = await _ids(db, 5001)
    assert (await notice_choices.choices_of(db, 5001, carols)).promotions is True
