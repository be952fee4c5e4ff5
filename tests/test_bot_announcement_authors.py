"""A scheduled announcement is sent only if its author may still announce when its time
comes: a staff admin who lost the announcements permission (or was removed from staff)
and a reseller suspended meanwhile get nothing sent, the card says why, and the author is
told; an author who kept the right, and an owner, are sent as before."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

import jobs
from bot.context import BotApplication, BotContext
from bot.db import Database
from bot.services import announcement_authors, announcements, resellers, roles
from bot.services.announcement_audience import Author
from bot.services.announcement_authors import author_of, refusal
from bot.services.roles import Permission
from bot.settings import Settings
from handlers.announce import callbacks as an
from models import AdminAction, Announcement, AnnouncementStatus, OutboxMessage, ResellerStatus
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, say, tap
from tests.test_bot_announcements import T0, add_customers, compose, fixed_clock, plan_id, received
from tests.test_jobs import drain

__all__ = ["fixed_clock", "plan_id"]  # the fixtures, shared
SAM = 4242
DUE = T0 + dt.timedelta(hours=2)  # after "in 1 hour"


async def schedule(fake_api: FakeBotAPI, user: User, *, admin: bool) -> Event:
    """Compose to every customer and schedule it in an hour."""
    controls = await compose(fake_api, user, admin=admin, text="Later news")
    asked = await tap(fake_api, user, controls, controls.buttons[1][1])  # Schedule
    return await tap(fake_api, user, asked, an.QUICK_TIME.build("in1h"))


async def add_sam(db: Database) -> None:
    await roles.add_staff(
        db, telegram_id=SAM, name="Sam", permissions=[Permission.ANNOUNCEMENTS],
        owner_ids={ADMIN_ID}, actor="test", now=T0,
    )  # fmt: skip


async def status(db: Database, announcement_id: int) -> str:
    async with db.transaction() as session:
        row = await session.get(Announcement, announcement_id)
        assert row is not None
        return row.status


async def card(fake_api: FakeBotAPI, user: User, announcement_id: int) -> Event:
    listed = await say(fake_api, user, "/announcements")
    return await tap(fake_api, user, listed, an.CARD.build(announcement_id, 0))


async def run_due(app: BotApplication, db: Database, settings: Settings) -> list[int]:
    """The outbox job's pass at the time it is due: queue, then send."""
    queued = await announcements.queue_due(db, DUE, owner_ids=settings.admin_ids)
    await drain(app, db, settings, DUE)
    return queued


async def test_staff_who_lost_the_permission_is_not_sent_the_card_says_why_and_they_are_told(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001, 5002])
    for chat in (5001, 5002):
        fake_api.user(chat)
    await add_sam(db)
    sam, owner = fake_api.user(SAM, "Sam"), fake_api.user(ADMIN_ID, "Owner")
    scheduled = await schedule(fake_api, sam, admin=True)
    assert "scheduled for 2026-11-20 13:00" in scheduled.text
    await roles.set_permission(db, telegram_id=SAM, permission=Permission.ANNOUNCEMENTS,
                               allowed=False, actor="test", now=T0)  # fmt: skip
    before = len(received(fake_api, SAM))
    assert await run_due(bot, db, settings) == []
    assert received(fake_api, 5001) == [] and received(fake_api, 5002) == []
    assert await status(db, 1) == AnnouncementStatus.STOPPED
    async with db.transaction() as session:
        copies = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.announcement_id == 1)
        )
        logged = (await session.execute(
            select(AdminAction.actor, AdminAction.reason)
            .where(AdminAction.action == announcement_authors.ACTION)
        )).all()  # fmt: skip
    assert copies is None and logged == [("system", "no_permission")]
    told = received(fake_api, SAM)[before:]
    assert [e.text for e in told] == [
        "⛔ Your scheduled announcement #1 was not sent.\nYou may no longer send announcements."
    ]
    shown = await card(fake_api, owner, 1)
    assert "⛔ not sent" in shown.text and "Was due: 2026-11-20 13:00" in shown.text
    assert "Not sent: its author may no longer send announcements." in shown.text
    assert an.CANCEL_SCHEDULED.build(1, 0) not in [d for _, d in shown.buttons]
    # A later pass finds nothing to do and tells nobody twice.
    assert await run_due(bot, db, settings) == []
    assert len(received(fake_api, SAM)) == before + 1


async def test_staff_removed_from_staff_is_not_sent_and_one_who_kept_the_right_is(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await add_customers(db, 1001, plan_id, [5001])
    fake_api.user(5001)
    await add_sam(db)
    sam, owner = fake_api.user(SAM, "Sam"), fake_api.user(ADMIN_ID, "Owner")
    await schedule(fake_api, sam, admin=True)  # #1: Sam keeps the right
    assert await run_due(bot, db, settings) == [1]
    assert [e.text for e in received(fake_api, 5001)] == ["Later news"]
    await schedule(fake_api, sam, admin=True)  # #2: Sam is removed before it is due
    await schedule(fake_api, owner, admin=True)  # #3: the owner's, unaffected
    await roles.remove_staff(db, telegram_id=SAM, actor="test", now=T0)
    assert await run_due(bot, db, settings) == [3]
    assert [e.text for e in received(fake_api, 5001)] == ["Later news", "Later news"]
    assert await status(db, 2) == AnnouncementStatus.STOPPED
    assert received(fake_api, SAM)[-1].text.endswith("You are no longer an admin.")
    shown = await card(fake_api, owner, 2)
    assert "Not sent: its author is no longer an admin." in shown.text
    assert "Not sent:" not in (await card(fake_api, owner, 1)).text


async def test_a_suspended_resellers_scheduled_announcement_is_not_sent(
    bot: BotApplication, settings: Settings, fake_api: FakeBotAPI, db: Database, plan_id: int
) -> None:
    await make_reseller(db, 1001, name="Alice")
    await make_reseller(db, 1002, name="Bob")
    await add_customers(db, 1001, plan_id, [5001])
    await add_customers(db, 1002, plan_id, [5002])
    for chat in (5001, 5002):
        fake_api.user(chat)
    alice, bob = fake_api.user(1001, "Alice"), fake_api.user(1002, "Bob")
    await schedule(fake_api, alice, admin=False)  # #1
    await schedule(fake_api, bob, admin=False)  # #2: Bob stays active
    await resellers.set_status(db, telegram_id=1001, status=ResellerStatus.SUSPENDED,
                               actor="test", now=T0)  # fmt: skip
    # The outbox job itself, as it runs every few seconds: queue what is due, then send.
    bot.bot_data["clock"] = lambda: DUE
    await jobs.outbox_job(BotContext(bot))
    await drain(bot, db, settings, DUE)
    assert await status(db, 2) == AnnouncementStatus.DONE
    assert received(fake_api, 5001) == []
    assert [e.text for e in received(fake_api, 5002)] == ["Later news"]
    assert await status(db, 1) == AnnouncementStatus.STOPPED
    assert received(fake_api, 1001)[-1].text == (
        "⛔ Your scheduled announcement #1 was not sent.\nYour reseller account is suspended."
    )
    owner = fake_api.user(ADMIN_ID, "Owner")
    shown = await card(fake_api, owner, 1)
    assert "⛔ not sent" in shown.text
    assert "Not sent: its author's reseller account is suspended." in shown.text


async def test_the_rule_is_the_composers_and_says_why(
    bot: BotApplication, settings: Settings, db: Database
) -> None:
    owners = settings.admin_ids
    reseller = await make_reseller(db, 1001, name="Alice")
    await add_sam(db)
    assert await author_of(db, ADMIN_ID, owners) == Author(ADMIN_ID)
    assert await author_of(db, SAM, owners) == Author(SAM)
    assert await author_of(db, 1001, owners) == Author(1001, reseller.id)
    assert await author_of(db, 777, owners) is None
    assert await refusal(db, ADMIN_ID, None, owners) is None
    assert await refusal(db, SAM, None, owners) is None
    assert await refusal(db, 1001, reseller.id, owners) is None
    # A reseller's announcement for its customers is not an admin's: Alice cannot send one.
    assert await refusal(db, 1001, None, owners) == announcement_authors.NOT_STAFF
    assert await refusal(db, 777, reseller.id, owners) == announcement_authors.NOT_RESELLER
    await roles.set_permission(db, telegram_id=SAM, permission=Permission.ANNOUNCEMENTS,
                               allowed=False, actor="test", now=T0)  # fmt: skip
    assert await author_of(db, SAM, owners) is None
    assert await refusal(db, SAM, None, owners) == announcement_authors.NO_PERMISSION
