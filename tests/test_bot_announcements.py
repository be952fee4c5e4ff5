"""Announcements end to end: an admin and a reseller compose, preview, send, stop and
schedule; a reseller cannot reach another reseller's customers; opt-outs and service
notices; the sender checks each copy is still queued, so Stop holds back the rest."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

import pytest
from sqlalchemy import insert, select

from bot.context import BotApplication
from bot.db import Database
from bot.services import announcements, plans
from bot.services.announcement_audience import Audience, Author, Segment, Target
from bot.services.announcements import AnnouncementError, Message
from bot.settings import Settings
from handlers.announce import callbacks as an
from jobs import broadcast
from models import Customer, Reseller
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, say, tap
from tests.test_jobs import drain

T0 = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
PROGRESS = re.compile(
    r"Sent: ([\d,]+) · Failed: ([\d,]+) · Blocked: ([\d,]+) · Remaining: ([\d,]+)"
)


async def add_customers(
    db: Database,
    reseller_telegram_id: int,
    plan_id: int,
    chats: Iterable[int],
    *,
    opted_out: Iterable[int] = (),
    expires_at: dt.datetime = T0 + dt.timedelta(days=20),
) -> None:
    """Linked customers in bulk, one insert: ``chats`` are their chat ids."""
    out = set(opted_out)
    async with db.transaction() as session:
        reseller_id = await session.scalar(
            select(Reseller.id).where(Reseller.telegram_id == reseller_telegram_id)
        )
        rows = [
            {"reseller_id": reseller_id, "username": f"c{chat}", "plan_id": plan_id,
             "expires_at": expires_at, "status": "active", "chat_id": chat,
             "promotions_opt_out": chat in out, "reminders": "all", "created_at": T0}
            for chat in chats
        ]  # fmt: skip
        await session.execute(insert(Customer), rows)


@pytest.fixture(autouse=True)
def fixed_clock(bot: BotApplication) -> None:
    bot.bot_data["clock"] = lambda: T0


@pytest.fixture
async def plan_id(db: Database) -> int:
    plan = await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_000)
    return plan.id


def counts(text: str) -> tuple[int, ...]:
    found = PROGRESS.search(text)
    assert found, text
    return tuple(int(n.replace(",", "")) for n in found.groups())


def received(fake_api: FakeBotAPI, chat_id: int) -> list[Event]:
    return [e for e in fake_api.events(chat_id) if e.method in ("sendMessage", "sendPhoto")]


async def compose(
    fake_api: FakeBotAPI, user: User, *, admin: bool, text: str = "Big news for everyone"
) -> Event:
    """To every customer, no button: the preview's controls."""
    shown = await say(fake_api, user, "/announce")
    if admin:
        shown = await tap(fake_api, user, shown, an.AUDIENCE.build(Audience.CUSTOMERS))
    shown = await tap(fake_api, user, shown, an.SEGMENT.build(Segment.EVERYONE))
    shown = await say(fake_api, user, text)
    copy = await tap(fake_api, user, shown, an.BUTTON.build("none"))
    assert copy.text == text  # the copy as it will arrive, first
    return await fake_api.next_event(user.id)


async def refresh(app: BotApplication, db: Database, settings: Settings, at: dt.datetime) -> None:
    await broadcast.refresh_progress(app.bot, db, settings, at, app.bot_data["i18n"])


def shown_now(fake_api: FakeBotAPI, event: Event) -> str:
    message = fake_api.message(event.message["chat"]["id"], event.message["message_id"])
    assert message is not None
    return str(message["text"])


async def test_an_admin_announces_to_every_customer_but_those_who_turned_promotions_off(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await make_reseller(db, 1002, name="Bob")
    await add_customers(db, 1001, plan_id, [5001, 5002], opted_out=[5002])
    await add_customers(db, 1002, plan_id, [5003])
    for chat in (5001, 5002, 5003):
        fake_api.user(chat)
    admin = fake_api.user(ADMIN_ID, "Owner")
    controls = await compose(fake_api, admin, admin=True)
    assert "It will reach <b>2</b> chats." in controls.text
    progress = await tap(fake_api, admin, controls, controls.buttons[0][1])  # Send now
    assert counts(progress.text) == (0, 0, 0, 2)
    # A second tap on Send sends nothing twice.
    await fake_api.tap(admin, controls, controls.buttons[0][1])
    await drain(bot, db, settings, T0)
    await refresh(bot, db, settings, T0)
    assert [e.text for e in received(fake_api, 5001)] == ["Big news for everyone"]
    assert received(fake_api, 5002) == []
    assert len(received(fake_api, 5003)) == 1
    final = shown_now(fake_api, progress)
    assert "was sent" in final and counts(final) == (2, 0, 0, 0)


async def test_a_service_notice_reaches_opted_out_customers_with_a_renew_button(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001, 5002], opted_out=[5002])
    fake_api.user(5001), fake_api.user(5002)
    admin = fake_api.user(ADMIN_ID, "Owner")
    shown = await say(fake_api, admin, "/announce")
    shown = await tap(fake_api, admin, shown, an.AUDIENCE.build(Audience.CUSTOMERS))
    shown = await tap(fake_api, admin, shown, an.SEGMENT.build(Segment.EVERYONE))
    shown = await tap(fake_api, admin, shown, an.MAINTENANCE.build())
    shown = await say(fake_api, admin, "tonight 02:00-04:00 UTC")
    copy = await tap(fake_api, admin, shown, an.BUTTON.build("renew"))
    assert "Scheduled maintenance" in copy.text and "tonight 02:00-04:00 UTC" in copy.text
    controls = await fake_api.next_event(admin.id)
    assert "It will reach <b>2</b> chats." in controls.text  # a service notice: both
    await tap(fake_api, admin, controls, controls.buttons[0][1])
    await drain(bot, db, settings, T0)
    for chat in (5001, 5002):
        [got] = received(fake_api, chat)
        assert "Scheduled maintenance" in got.text
        assert got.buttons == [("🔁 Request renewal", "cs:rr")]


async def test_a_reseller_announces_to_its_own_customers_only_and_cannot_forge_another(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    alice = await make_reseller(db, 1001, name="Alice")
    bob = await make_reseller(db, 1002, name="Bob")
    await add_customers(db, 1001, plan_id, [5001])
    await add_customers(db, 1002, plan_id, [5003])
    fake_api.user(5001), fake_api.user(5003)
    alice_chat = fake_api.user(1001, "Alice")
    # A forged "by reseller" segment, then a forged value naming Bob: refused.
    shown = await say(fake_api, alice_chat, "/announce")
    assert an.AUDIENCE.build(Audience.RESELLERS) not in [d for _, d in shown.buttons]
    assert an.SEGMENT.build(Segment.RESELLER) not in [d for _, d in shown.buttons]
    forged = await fake_api.tap(alice_chat, shown, an.SEGMENT.build(Segment.RESELLER))
    assert "your own customers only" in (await fake_api.answer(forged)).get("text", "")
    await say(fake_api, alice_chat, "/cancel")
    with pytest.raises(AnnouncementError) as refused:
        await announcements.create(
            db, Author(1001, alice.id), Target(Audience.CUSTOMERS, Segment.RESELLER, str(bob.id)),
            Message("hi"), key="forged", now=T0,
        )  # fmt: skip
    assert refused.value.code == "not_your_customers"
    with pytest.raises(AnnouncementError):
        await announcements.reach(db, Author(1001, alice.id), Target(Audience.RESELLERS), T0)
    # Everyone, from Alice, is Alice's customers.
    controls = await compose(fake_api, alice_chat, admin=False, text="Offer from Alice")
    assert "It will reach <b>1</b> chat." in controls.text
    progress = await tap(fake_api, alice_chat, controls, controls.buttons[0][1])
    await drain(bot, db, settings, T0)
    await refresh(bot, db, settings, T0)
    assert [e.text for e in received(fake_api, 5001)] == ["Offer from Alice"]
    assert received(fake_api, 5003) == []
    assert counts(shown_now(fake_api, progress)) == (1, 0, 0, 0)
    # Bob cannot stop Alice's announcement.
    bob_chat = fake_api.user(1002, "Bob")
    tapped = await fake_api.tap(bob_chat, progress, an.STOP.build(1))
    assert "not yours to stop" in (await fake_api.answer(tapped)).get("text", "")


async def test_stop_before_the_sender_runs_holds_every_copy_back(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001, 5002, 5003])
    admin = fake_api.user(ADMIN_ID, "Owner")
    controls = await compose(fake_api, admin, admin=True)
    progress = await tap(fake_api, admin, controls, controls.buttons[0][1])
    stopped = await tap(fake_api, admin, progress, an.STOP.build(1))
    assert "was stopped" in stopped.text and counts(stopped.text) == (0, 0, 0, 0)
    assert "Not sent because of the Stop: 3" in stopped.text
    assert await drain(bot, db, settings, T0) == 0
    for chat in (5001, 5002, 5003):
        assert chat not in fake_api._chats or received(fake_api, chat) == []


async def test_a_scheduled_announcement_goes_out_at_its_time_and_a_cancelled_one_never(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001])
    fake_api.user(5001)
    admin = fake_api.user(ADMIN_ID, "Owner")
    controls = await compose(fake_api, admin, admin=True)
    asked = await tap(fake_api, admin, controls, controls.buttons[1][1])  # Schedule
    assert "yyyy-mm-dd hh:mm" in asked.text
    past = await say(fake_api, admin, "2026-11-19 10:00")
    assert "That time has passed" in past.text
    scheduled = await say(fake_api, admin, "2026-11-21 10:00")
    assert "scheduled for 2026-11-21 10:00" in scheduled.text
    assert (
        await announcements.queue_due(db, T0 + dt.timedelta(hours=21), owner_ids={ADMIN_ID}) == []
    )
    assert await announcements.queue_due(db, T0 + dt.timedelta(hours=22), owner_ids={ADMIN_ID}) == [
        1
    ]
    await drain(bot, db, settings, T0 + dt.timedelta(hours=22))
    assert len(received(fake_api, 5001)) == 1
    # Another, cancelled before its time: nothing goes out.
    controls = await compose(fake_api, admin, admin=True, text="Later news")
    await tap(fake_api, admin, controls, controls.buttons[1][1])
    scheduled = await say(fake_api, admin, "2026-11-22 10:00")
    cancelled = await tap(fake_api, admin, scheduled, an.STOP.build(2))
    assert "was stopped" in cancelled.text
    assert await announcements.queue_due(db, T0 + dt.timedelta(days=3), owner_ids={ADMIN_ID}) == []
    await drain(bot, db, settings, T0 + dt.timedelta(days=3))
    assert len(received(fake_api, 5001)) == 1


async def test_an_admin_sends_resellers_a_photo_with_a_link_button(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await make_reseller(db, 1002, name="Bob")
    fake_api.user(1001, "Alice"), fake_api.user(1002, "Bob")
    admin = fake_api.user(ADMIN_ID, "Owner")
    shown = await say(fake_api, admin, "/announce")
    shown = await tap(fake_api, admin, shown, an.AUDIENCE.build(Audience.RESELLERS))
    assert an.SEGMENT.build(Segment.PLAN) not in [d for _, d in shown.buttons]
    shown = await tap(fake_api, admin, shown, an.SEGMENT.build(Segment.EVERYONE))
    await fake_api.send_photo(admin, caption="New prices from Monday")
    shown = await fake_api.next_event(admin.id)
    assert an.BUTTON.build("renew") not in [d for _, d in shown.buttons]  # customers only
    shown = await tap(fake_api, admin, shown, an.BUTTON.build("url"))
    bad = await say(fake_api, admin, "Prices without an address")
    assert "That is not a button" in bad.text
    copy = await say(fake_api, admin, "Price list | https://example.com/prices")
    assert copy.method == "sendPhoto" and copy.text == "New prices from Monday"
    assert copy.buttons == [("Price list", "https://example.com/prices")]
    controls = await fake_api.next_event(admin.id)
    assert "It will reach <b>2</b> chats." in controls.text
    await tap(fake_api, admin, controls, controls.buttons[0][1])
    await drain(bot, db, settings, T0)
    for chat in (1001, 1002):
        [got] = received(fake_api, chat)
        assert got.method == "sendPhoto" and got.text == "New prices from Monday"
        assert got.buttons == [("Price list", "https://example.com/prices")]


async def test_customers_are_reached_by_plan_and_by_days_to_expiry(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    other = await plans.add_plan(db, code="vpn-1m", name="VPN 1 month", days=30, price=500)
    await add_customers(db, 1001, plan_id, [5001], expires_at=T0 + dt.timedelta(days=2))
    await add_customers(db, 1001, other.id, [5002], expires_at=T0 + dt.timedelta(days=20))
    await add_customers(db, 1001, other.id, [5003], expires_at=T0 - dt.timedelta(days=3))
    admin = fake_api.user(ADMIN_ID, "Owner")
    shown = await say(fake_api, admin, "/announce")
    shown = await tap(fake_api, admin, shown, an.AUDIENCE.build(Audience.CUSTOMERS))
    by_plan = await tap(fake_api, admin, shown, an.SEGMENT.build(Segment.PLAN))
    shown = await tap(fake_api, admin, by_plan, by_plan.button("VPN 1 month"))
    assert "Send the message" in shown.text
    author = Author(ADMIN_ID)

    def reach(segment: Segment, value: str) -> Target:
        return Target(Audience.CUSTOMERS, segment, value)

    assert await announcements.reach(db, author, reach(Segment.PLAN, str(other.id)), T0) == 2
    assert await announcements.reach(db, author, reach(Segment.EXPIRING, "7"), T0) == 1
    assert await announcements.reach(db, author, reach(Segment.EXPIRED, "7"), T0) == 1
    assert await announcements.reach(db, author, reach(Segment.EXPIRED, "2"), T0) == 0
    assert await announcements.reach(db, author, reach(Segment.LANGUAGE, "en"), T0) == 3
    assert await announcements.reach(db, author, reach(Segment.LANGUAGE, "fa"), T0) == 0
    # Days are typed: a bad number is refused and asked again.
    shown = await say(fake_api, admin, "/announce")
    shown = await tap(fake_api, admin, shown, an.AUDIENCE.build(Audience.CUSTOMERS))
    await tap(fake_api, admin, shown, an.SEGMENT.build(Segment.EXPIRING))
    assert "from 1 to 365" in (await say(fake_api, admin, "400")).text
    assert "Send the message" in (await say(fake_api, admin, "7")).text


async def test_other_notices_go_out_before_an_announcements_copies(db: Database) -> None:
    from bot.services import outbox

    copy = outbox.Outgoing("ann:1:5001", 5001, announcements.KIND, {}, announcement_id=1)
    notice = outbox.Outgoing("remind:1", 5002, "expiry_reminder", {})
    async with db.transaction() as session:
        await outbox.enqueue(session, [copy], T0 - dt.timedelta(minutes=5))
        await outbox.enqueue(session, [notice], T0)
    assert [m.chat_id for m in await outbox.due(db, T0)] == [5002, 5001]


async def test_cancel_leaves_the_composer_and_strangers_cannot_announce(
    bot: BotApplication, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001])
    admin = fake_api.user(ADMIN_ID, "Owner")
    shown = await say(fake_api, admin, "/announce")
    shown = await tap(fake_api, admin, shown, an.AUDIENCE.build(Audience.CUSTOMERS))
    cancelled = await tap(fake_api, admin, shown, an.CANCEL.build())
    assert "Announcement cancelled" in cancelled.text
    assert await announcements.progress(db, 1) is None
    customer = fake_api.user(5001, "Carol")  # a linked customer is no author
    assert "Only admins and active resellers" in (await say(fake_api, customer, "/announce")).text


def test_the_progress_shows_the_time_left_at_the_rate_so_far(bot: BotApplication) -> None:
    from bot.services.announcements import Progress
    from handlers.announce import views
    from handlers.reader import Reader
    from models import AnnouncementStatus

    shown = Progress(
        7, ADMIN_ID, AnnouncementStatus.SENDING, 1_000, sent=290, failed=5, blocked=5,
        stopped=0, remaining=700, scheduled_at=None, queued_at=T0, finished_at=None,
        chat_id=ADMIN_ID, message_id=3,
    )  # fmt: skip
    at = T0 + dt.timedelta(seconds=10)  # 300 done in 10 s: 700 more take about 24 s
    assert shown.eta(at) == dt.timedelta(seconds=23)
    r = Reader.of(bot.bot_data["settings"], bot.bot_data["i18n"].get("en"))
    text, keyboard = views.progress(shown, at, r)
    assert counts(text) == (290, 5, 5, 700) and "about 23 seconds" in text
    assert keyboard.inline_keyboard[0][0].callback_data == an.STOP.build(7)


async def test_a_reseller_may_send_only_so_many_announcements_a_day(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001])
    fake_api.user(5001)
    alice = fake_api.user(1001, "Alice")
    assert settings.reseller_announcements_per_day == 3
    for n in range(3):
        controls = await compose(fake_api, alice, admin=False, text=f"Offer {n}")
        progress = await tap(fake_api, alice, controls, controls.buttons[0][1])
        assert "is being sent" in progress.text
    controls = await compose(fake_api, alice, admin=False, text="One offer too many")
    refused = await tap(fake_api, alice, controls, controls.buttons[0][1])
    assert "as many announcements as allowed in 24 hours" in refused.text
    await drain(bot, db, settings, T0)
    assert [e.text for e in received(fake_api, 5001)] == ["Offer 0", "Offer 1", "Offer 2"]
