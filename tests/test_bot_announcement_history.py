"""Announcements, continued: the value pickers page through every reseller; past
announcements listed (an admin's all, a reseller's own) with a card that cancels a
scheduled one; quick times and the calendar to schedule; the announcements permission."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.context import BotApplication
from bot.db import Database
from bot.services import announcements, roles
from bot.services.announcement_audience import Audience, Segment
from bot.services.roles import Permission
from handlers.admin import callbacks as admin_buttons
from handlers.announce import callbacks as an
from models import Announcement, AnnouncementStatus
from tests.conftest import ADMIN_ID, OTHER_ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, say, setup_topups, tap
from tests.test_bot_announcements import T0, add_customers, compose, fixed_clock, plan_id

__all__ = ["fixed_clock", "plan_id"]  # the fixtures, shared
SAM = 4242


def data(event: Event) -> list[str]:
    return [d for _, d in event.buttons]


async def refused(fake_api: FakeBotAPI, user: User, event: Event, forged: str) -> str:
    """Tap a button that is not there (forged); the alert it gets."""
    return str((await fake_api.answer(await fake_api.tap(user, event, forged))).get("text", ""))


async def statuses(db: Database) -> dict[int, str]:
    async with db.transaction() as session:
        rows = await session.execute(select(Announcement.id, Announcement.status))
        return {i: s for i, s in rows}


async def test_the_picker_pages_through_every_reseller_and_a_forged_page_shows_the_last(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    for n in range(1, 46):
        await make_reseller(db, 2000 + n, name=f"Reseller {n:02d}")
    admin = fake_api.user(ADMIN_ID, "Owner")
    shown = await say(fake_api, admin, "/announce")
    shown = await tap(fake_api, admin, shown, an.AUDIENCE.build(Audience.CUSTOMERS))
    first = await tap(fake_api, admin, shown, an.SEGMENT.build(Segment.RESELLER))
    assert "page 1 of 3" in first.text
    values = [d for d in data(first) if d.startswith("an:val:")]
    assert len(values) == 20 and an.VALUES_PAGE.build(1) in data(first)
    second = await tap(fake_api, admin, first, an.VALUES_PAGE.build(1))
    assert "page 2 of 3" in second.text and "Reseller 21" in second.text
    # A forged page number past the last shows the last.
    await fake_api.tap(admin, second, an.VALUES_PAGE.build(999))
    last = await fake_api.next_event(admin.id)
    assert "page 3 of 3" in last.text and "Reseller 45" in last.text
    assert an.VALUES_PAGE.build(3) not in data(last) and an.VALUES_PAGE.build(1) in data(last)
    picked = next(d for label, d in last.buttons if label == "Reseller 45")
    asked = await tap(fake_api, admin, last, picked)
    assert "Send the message" in asked.text


async def test_past_announcements_are_listed_and_a_scheduled_one_is_cancelled_once(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001, 5002])
    admin = fake_api.user(ADMIN_ID, "Owner")
    alice = fake_api.user(1001, "Alice")
    controls = await compose(fake_api, admin, admin=True)
    await tap(fake_api, admin, controls, controls.buttons[0][1])  # #1, sent now
    controls = await compose(fake_api, admin, admin=True, text="Later")
    asked = await tap(fake_api, admin, controls, controls.buttons[1][1])  # Schedule
    scheduled = await tap(fake_api, admin, asked, an.QUICK_TIME.build("in1h"))  # #2
    assert "scheduled for 2026-11-20 13:00" in scheduled.text
    controls = await compose(fake_api, alice, admin=False, text="From Alice")
    await tap(fake_api, alice, controls, controls.buttons[0][1])  # #3, Alice's
    # The admin sees all three, newest first.
    listed = await say(fake_api, admin, "/announcements")
    assert "(3, page 1 of 1)" in listed.text
    assert listed.text.index("#3") < listed.text.index("#2") < listed.text.index("#1")
    assert "🕒 scheduled" in listed.text and "every customer" in listed.text
    assert "Sent: 0 · Failed: 0 · Blocked: 0" in listed.text
    card = await tap(fake_api, admin, listed, an.CARD.build(2, 0))
    assert "Announcement #2" in card.text and "Goes out: 2026-11-20 13:00" in card.text
    cancel = an.CANCEL_SCHEDULED.build(2, 0)
    done = await tap(fake_api, admin, card, cancel)
    assert "Cancelled: nothing of it will go out" in done.text and cancel not in data(done)
    # A second tap on the (older) Cancel finds it cancelled: nothing more happens.
    assert await refused(fake_api, admin, card, cancel) == ""
    assert (await statuses(db))[2] == AnnouncementStatus.STOPPED
    assert await announcements.queue_due(db, T0 + dt.timedelta(hours=2), owner_ids={ADMIN_ID}) == []
    # One that went out cannot be cancelled.
    alert = await refused(fake_api, admin, card, an.CANCEL_SCHEDULED.build(1, 0))
    assert "Only a scheduled announcement can be cancelled" in alert
    assert (await statuses(db))[1] == AnnouncementStatus.SENDING
    await fake_api.tap(admin, card, an.CARD.build(1, 0))
    sending = await fake_api.next_event(admin.id)
    assert "📤 sending" in sending.text and "Reached 2 chats." in sending.text
    assert "Remaining: 2" in sending.text and an.CANCEL_SCHEDULED.build(1, 0) not in data(sending)
    # Alice sees her own only, and nobody else's even by a forged id.
    hers = await say(fake_api, alice, "/announcements")
    assert "(1, page 1 of 1)" in hers.text and "#3" in hers.text and "#1" not in hers.text
    for forged in (an.CARD.build(1, 0), an.CANCEL_SCHEDULED.build(2, 0), an.CARD.build(99, 0)):
        assert "no such announcement of yours" in await refused(fake_api, alice, hers, forged)
    # A forged page past the last shows the last; the list's Back leads to it.
    await fake_api.tap(admin, done, an.HISTORY.build(9999))
    again = await fake_api.next_event(admin.id)
    assert "page 1 of 1" in again.text and "✖️ cancelled" in again.text


async def test_announcing_takes_the_announcements_permission_not_resellers(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    await roles.add_staff(
        db, telegram_id=SAM, name="Sam", permissions=[Permission.RESELLERS],
        owner_ids={ADMIN_ID, OTHER_ADMIN_ID}, actor="test", now=T0,
    )  # fmt: skip
    sam = fake_api.user(SAM, "Sam")
    for command in ("/announce", "/announcements"):
        assert "Only admins and active resellers" in (await say(fake_api, sam, command)).text
    owner = fake_api.user(ADMIN_ID, "Owner")
    shown = await say(fake_api, owner, "/announcements")
    assert "None yet" in shown.text
    # The owner allows it on Sam's card, where it has a toggle of its own.
    await fake_api.tap(owner, shown, admin_buttons.STAFF_CARD.build(SAM))
    card = await fake_api.next_event(owner.id)
    allow = admin_buttons.STAFF_TOGGLE.build(SAM, Permission.ANNOUNCEMENTS, True)
    card = await tap(fake_api, owner, card, allow)
    assert "✅ Announcements" in [label for label, _ in card.buttons]
    view = await roles.staff(db, SAM)
    assert view is not None and Permission.ANNOUNCEMENTS in view.permissions
    assert "None yet" in (await say(fake_api, sam, "/announcements")).text
    assert "Who should get it?" in (await say(fake_api, sam, "/announce")).text


async def test_a_day_on_the_calendar_then_an_hour_schedules_it(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001])
    admin = fake_api.user(ADMIN_ID, "Owner")
    controls = await compose(fake_api, admin, admin=True)
    asked = await tap(fake_api, admin, controls, controls.buttons[1][1])
    assert an.QUICK_TIME.build("tom09-20261121") in data(asked)
    month = await tap(fake_api, admin, asked, an.CALENDAR.month(0, dt.date(2026, 11, 1)))
    assert "Which day" in month.text
    # A day before today is not offered: a forged one does nothing.
    await refused(fake_api, admin, month, an.CALENDAR.day(0, dt.date(2026, 11, 1)))
    hours = await tap(fake_api, admin, month, an.CALENDAR.day(0, dt.date(2026, 11, 25)))
    assert "2026-11-25" in hours.text and an.DAY_HOUR.build("1500") in data(hours)
    wrong = await say(fake_api, admin, "25:99")
    assert "That is not a date and time" in wrong.text
    scheduled = await tap(fake_api, admin, wrong, an.DAY_HOUR.build("1500"))
    assert "scheduled for 2026-11-25 15:00" in scheduled.text
    async with db.transaction() as session:
        row = await session.scalar(select(Announcement))
    assert row is not None and row.scheduled_at == dt.datetime(2026, 11, 25, 15, tzinfo=dt.UTC)


async def test_a_time_typed_on_the_calendar_after_a_day_was_picked_names_no_day(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    """The 25th picked, then "Another day" (and a month on and back): the screen asks for
    a day, so "18:30" is no date and time, not 18:30 on the 25th."""
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001])
    admin = fake_api.user(ADMIN_ID, "Owner")
    controls = await compose(fake_api, admin, admin=True)
    asked = await tap(fake_api, admin, controls, controls.buttons[1][1])
    november = an.CALENDAR.month(0, dt.date(2026, 11, 1))
    month = await tap(fake_api, admin, asked, november)
    hours = await tap(fake_api, admin, month, an.CALENDAR.day(0, dt.date(2026, 11, 25)))
    assert "2026-11-25" in hours.text
    month = await tap(fake_api, admin, hours, november)  # Another day
    assert "Which day" in month.text
    wrong = await say(fake_api, admin, "18:30")
    assert "That is not a date and time" in wrong.text and "2026-11-25" not in wrong.text
    assert await statuses(db) == {}
    # Paging the calendar (a month on, then back) asks for a day just the same.
    month = await tap(fake_api, admin, wrong, november)
    hours = await tap(fake_api, admin, month, an.CALENDAR.day(0, dt.date(2026, 11, 25)))
    month = await tap(fake_api, admin, hours, november)
    month = await tap(fake_api, admin, month, an.CALENDAR.month(0, dt.date(2026, 12, 1)))
    month = await tap(fake_api, admin, month, november)
    wrong = await say(fake_api, admin, "18:30")
    assert "That is not a date and time" in wrong.text
    assert await statuses(db) == {}
    # A date and time typed in full is what it says, whatever was picked before.
    scheduled = await say(fake_api, admin, "2026-11-27 18:30")
    assert "scheduled for 2026-11-27 18:30" in scheduled.text
    async with db.transaction() as session:
        row = await session.scalar(select(Announcement))
    assert row is not None and row.scheduled_at == dt.datetime(2026, 11, 27, 18, 30, tzinfo=dt.UTC)
    # The day picked on the calendar and then a typed time still schedule that day.
    controls = await compose(fake_api, admin, admin=True, text="Another")
    asked = await tap(fake_api, admin, controls, controls.buttons[1][1])
    month = await tap(fake_api, admin, asked, november)
    await tap(fake_api, admin, month, an.CALENDAR.day(0, dt.date(2026, 11, 26)))
    scheduled = await say(fake_api, admin, "07:45")
    assert "scheduled for 2026-11-26 07:45" in scheduled.text


async def test_a_forged_id_too_big_for_the_database_is_refused_like_a_missing_one(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database
) -> None:
    admin = fake_api.user(ADMIN_ID, "Owner")
    listed = await say(fake_api, admin, "/announcements")
    # Past what an id column holds (PostgreSQL's integer): no error, the same refusal.
    too_big = (an.CARD.build(9_999_999_999, 0), an.CANCEL_SCHEDULED.build(2**31, 0),
               an.STOP.build(2**31))  # fmt: skip
    for forged in too_big:
        alert = await refused(fake_api, admin, listed, forged)
        assert alert and "cannot save" not in alert and "Only a scheduled" not in alert
    assert await statuses(db) == {}


async def test_tomorrow_on_a_screen_shown_before_midnight_is_the_day_it_named(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001])
    admin = fake_api.user(ADMIN_ID, "Owner")
    clock = [dt.datetime(2026, 11, 20, 23, 58, tzinfo=dt.UTC)]
    bot.bot_data["clock"] = lambda: clock[0]
    controls = await compose(fake_api, admin, admin=True)
    asked = await tap(fake_api, admin, controls, controls.buttons[1][1])
    tomorrow = next(d for label, d in asked.buttons if label == "Tomorrow 09:00")
    clock[0] = dt.datetime(2026, 11, 21, 0, 1, tzinfo=dt.UTC)  # the tap comes after midnight
    scheduled = await tap(fake_api, admin, asked, tomorrow)
    assert "scheduled for 2026-11-21 09:00" in scheduled.text
    async with db.transaction() as session:
        row = await session.scalar(select(Announcement))
    assert row is not None and row.scheduled_at == dt.datetime(2026, 11, 21, 9, tzinfo=dt.UTC)


async def test_past_announcements_opened_from_the_composer_leave_it_behind(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice", credit=1_000)
    await setup_topups(db)
    await add_customers(db, 1001, plan_id, [5001])
    alice = fake_api.user(1001, "Alice")
    controls = await compose(fake_api, alice, admin=False, text="From Alice")
    await tap(fake_api, alice, controls, controls.buttons[0][1])
    shown = await say(fake_api, alice, "/announce")
    listed = await tap(fake_api, alice, shown, an.HISTORY.build(0))
    card = await tap(fake_api, alice, listed, an.CARD.build(1, 0))
    assert "Announcement #1" in card.text
    # Another flow now: the card it left in the composer's place stays as it is.
    asked = await say(fake_api, alice, "/topup")
    assert "How many credits" in asked.text
    kept = fake_api.message(alice.id, card.message["message_id"])
    assert kept is not None and "Announcement #1" in kept["text"]
