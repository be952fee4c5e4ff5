"""A linked customer chooses their notices: promotions off (announcements skip them,
service notices still come) and only the last expiry reminder (never none)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import jobs
from bot.context import BotApplication
from bot.db import Database
from bot.services import alerts, announcements, notice_choices, plans
from bot.services.announcement_audience import Audience, Author, Target
from bot.settings import Settings
from handlers.customer import callbacks as cs
from models import OutboxMessage, ReminderChoice
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, say, tap
from tests.test_bot_announcements import T0, add_customers


async def _linked(db: Database) -> None:
    await make_reseller(db, 1001, name="Alice")
    plan = await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_000)
    await add_customers(db, 1001, plan.id, [5001, 5002], expires_at=T0 + dt.timedelta(days=5))


async def test_a_customer_turns_promotions_off_and_asks_for_the_last_reminder_only(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await _linked(db)
    carol = fake_api.user(5001, "Carol")
    status = await say(fake_api, carol, "/status")
    shown = await tap(fake_api, carol, status, cs.NOTICES.build())
    assert "Notifications for" in shown.text and "<b>all</b>" in shown.text
    assert "<b>on</b>" in shown.text
    shown = await tap(fake_api, carol, shown, cs.NOTICES_PROMOTIONS.build())
    assert "<b>off</b>" in shown.text
    shown = await tap(fake_api, carol, shown, cs.NOTICES_REMINDERS.build())
    assert "<b>only the last one</b>" in shown.text
    found = await notice_choices.choices_of(db, 5001)
    assert found == notice_choices.Choices("c5001", False, ReminderChoice.LAST)
    # Switching the reminders again gives all of them back: there is no "none".
    shown = await tap(fake_api, carol, shown, cs.NOTICES_REMINDERS.build())
    assert "<b>all</b>" in shown.text
    # A stranger's chat has no choices to make.
    stranger = fake_api.user(7777, "Eve")
    assert "not linked" in (await say(fake_api, stranger, "/notifications")).text
    # Promotions skip Carol; a service notice does not.
    admin = Author(900)
    assert await announcements.reach(db, admin, Target(Audience.CUSTOMERS), T0) == 1
    service = Target(Audience.CUSTOMERS, service=True)
    assert await announcements.reach(db, admin, service, T0) == 2


async def test_expiry_reminders_honour_the_customers_choice_but_the_last_always_comes(
    settings: Settings, db: Database
) -> None:
    await _linked(db)
    await notice_choices.choose(db, 5002, reminders=ReminderChoice.LAST)
    reminding = jobs.alert_settings(settings)
    expiry_day = T0 + dt.timedelta(days=5)
    await alerts.queue_expiry_reminders(db, expiry_day - dt.timedelta(days=3), reminding)
    await alerts.queue_expiry_reminders(db, expiry_day, reminding)
    async with db.transaction() as session:
        rows = (await session.execute(select(OutboxMessage.chat_id, OutboxMessage.key))).all()
    by_chat: dict[int, list[str]] = {}
    for chat, key in rows:
        by_chat.setdefault(chat, []).append(key.rsplit(":", 1)[1])
    assert sorted(by_chat[5001]) == ["0", "3"]
    assert by_chat[5002] == ["0"]
