"""Scheduled jobs at simulated times, delivered through the fake Bot API.

The tests call the jobs with a controllable ``now`` and drain the outbox with the real
bot; restarting the application between runs shows nothing repeats.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import pytest
from sqlalchemy import func, select, update

import jobs
from bot.context import BotApplication
from bot.db import Database
from bot.services import (
    alerts,
    customer_expiry,
    customers,
    ledger_postings,
    outbox,
    plans,
    pricing,
    sales,
    topup_decisions,
    topup_reads,
    topups,
    wallet,
)
from bot.services.provisioning import LocalProvider
from bot.services.topup_reads import Proof
from bot.services.topups import Limits
from bot.settings import Settings
from jobs import notifier
from models import (
    Customer,
    CustomerStatus,
    EntryKind,
    OutboxMessage,
    OutboxStatus,
    ProofKind,
    Reseller,
    TopUpRequest,
    TopUpStatus,
    TxType,
    UnreachableChat,
)
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID, running_bot
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import key, make_reseller, setup_topups

T0 = dt.datetime(2031, 3, 10, 12, 0, tzinfo=dt.UTC)


async def drain(app: BotApplication, db: Database, settings: Settings, now: dt.datetime) -> int:
    """Send everything due, moving simulated time on past per-chat spacing and backoffs."""
    last_sent: dict[int, float] = {}
    sent = 0
    for step in range(30):
        at = now + dt.timedelta(seconds=2 * step)
        sent += await notifier.drain(
            app.bot, db, settings, at, budget_seconds=5, last_sent=last_sent,
            catalogs=app.bot_data["i18n"],
        )  # fmt: skip
        last_sent.clear()
        async with db.transaction() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
            )
        if not pending:
            break
    return sent


async def tick(app: BotApplication, db: Database, settings: Settings, now: dt.datetime) -> None:
    await jobs.run_alerts(db, settings, now)
    await jobs.run_reminders(db, settings, now)
    await drain(app, db, settings, now)


def texts(fake_api: FakeBotAPI, chat_id: int) -> list[str]:
    return [e.text for e in fake_api.unread(chat_id)]


def read_all(fake_api: FakeBotAPI, chat_id: int) -> list[str]:
    found = texts(fake_api, chat_id)
    fake_api._chats[chat_id].read = len(fake_api._chats[chat_id].events)
    return found


async def _spend(db: Database, account_id: int, amount: int) -> None:
    async with db.transaction() as session:
        await ledger_postings.spend(
            session, account_id=account_id, amount=amount, kind=EntryKind.ACTIVATION,
            actor="test", key=key(),
        )  # fmt: skip


async def test_low_balance_alerts_once_per_dip_across_restarts(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    alice = await make_reseller(db, 1001, threshold=5_000, credit=10_000)
    fake_api.user(1001, "Alice")
    async with running_bot(settings, db) as app:
        await tick(app, db, settings, T0)
        assert read_all(fake_api, 1001) == []
        await _spend(db, alice.account_id, 6_000)
        await tick(app, db, settings, T0 + dt.timedelta(minutes=5))
        events = fake_api.unread(1001)
        assert len(events) == 1 and "below your alert threshold of 50.00" in events[0].text
        assert events[0].buttons == [("➕ Top up", "tu:new")]
        read_all(fake_api, 1001)
        await tick(app, db, settings, T0 + dt.timedelta(minutes=10))
    async with running_bot(settings, db) as app:  # a restart repeats nothing
        await tick(app, db, settings, T0 + dt.timedelta(minutes=15))
        assert read_all(fake_api, 1001) == []
        await wallet.add_credit(
            db, telegram_id=1001, amount=10_000, tx_type=TxType.PURCHASE, actor="t", key=key(),
            now=T0,
        )  # fmt: skip
        await tick(app, db, settings, T0 + dt.timedelta(minutes=20))  # recovered: re-armed
        await _spend(db, alice.account_id, 12_000)
        await tick(app, db, settings, T0 + dt.timedelta(minutes=25))
        assert len(read_all(fake_api, 1001)) == 1


async def test_postpaid_debt_warning_and_limit(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    from models import Billing

    bob = await make_reseller(db, 1002, billing=Billing.POSTPAID, credit_limit=10_000)
    fake_api.user(1002, "Bob")
    await _spend(db, bob.account_id, 8_500)
    await tick(bot, db, settings, T0)
    assert [t for t in read_all(fake_api, 1002) if "You owe 85.00" in t]
    await tick(bot, db, settings, T0 + dt.timedelta(minutes=5))
    assert read_all(fake_api, 1002) == []
    await _spend(db, bob.account_id, 1_500)
    await tick(bot, db, settings, T0 + dt.timedelta(minutes=10))
    sent = read_all(fake_api, 1002)
    assert len(sent) == 1 and "reached your collection limit" in sent[0]


async def _linked_customer(
    db: Database, username: str, chat_id: int, expires_at: dt.datetime, credit: int = 0
) -> int:
    plan_id = (await plans.list_plans(db))[0].id
    sold = await sales.sell(
        db, LocalProvider(), telegram_id=1001, plan_id=plan_id, key=key(), now=T0,
        provider_seconds=5, username=username,
    )  # fmt: skip
    async with db.transaction() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id == sold.customer.id)
            .values(expires_at=expires_at, chat_id=chat_id)
        )
    return sold.customer.id


@pytest.fixture
async def shop(db: Database, fake_api: FakeBotAPI) -> None:
    await make_reseller(db, 1001, credit=100_000)
    await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=1_000)
    fake_api.user(1001, "Alice")


async def test_expiry_reminders_once_each_across_a_restart_and_after_renewal(
    settings: Settings, db: Database, fake_api: FakeBotAPI, shop: None
) -> None:
    expiry = dt.datetime(2031, 3, 20, 15, 0, tzinfo=dt.UTC)
    customer_id = await _linked_customer(db, "carol", 5001, expiry)
    fake_api.user(5001, "Carol")
    schedule = [
        (dt.datetime(2031, 3, 12, 23, 0, tzinfo=dt.UTC), None),
        (dt.datetime(2031, 3, 13, 0, 5, tzinfo=dt.UTC), "in <b>7 days</b>"),
        (dt.datetime(2031, 3, 13, 12, 0, tzinfo=dt.UTC), None),
        (dt.datetime(2031, 3, 17, 8, 0, tzinfo=dt.UTC), "in <b>3 days</b>"),
        (dt.datetime(2031, 3, 19, 1, 0, tzinfo=dt.UTC), "in <b>1 day</b>"),
        (dt.datetime(2031, 3, 20, 1, 0, tzinfo=dt.UTC), "<b>today</b>"),
        (dt.datetime(2031, 3, 20, 18, 0, tzinfo=dt.UTC), None),
        (dt.datetime(2031, 3, 22, 9, 0, tzinfo=dt.UTC), None),
    ]
    for i, (now, expected) in enumerate(schedule):
        # Restart the application between every run: the outbox keys remember.
        async with running_bot(settings, db) as app:
            await jobs.run_reminders(db, settings, now)
            await drain(app, db, settings, now)
            sent = read_all(fake_api, 5001)
            if expected is None:
                assert sent == [], (i, sent)
            else:
                assert len(sent) == 1 and expected in sent[0], (i, sent)
                assert "carol" in sent[0] and "2031-03-20" in sent[0]
    # Renewal moves the expiry: reminders start over for the new date.
    async with running_bot(settings, db) as app:
        await sales.sell(
            db, LocalProvider(), telegram_id=1001, plan_id=(await plans.list_plans(db))[0].id,
            key=key(), now=dt.datetime(2031, 3, 22, 10, tzinfo=dt.UTC), provider_seconds=5,
            customer_id=customer_id,
        )  # fmt: skip
        new_expiry = dt.datetime(2031, 4, 21, 10, tzinfo=dt.UTC)
        await jobs.run_reminders(db, settings, new_expiry - dt.timedelta(days=7))
        await drain(app, db, settings, new_expiry - dt.timedelta(days=7))
        sent = read_all(fake_api, 5001)
        assert len(sent) == 1 and "in <b>7 days</b>" in sent[0] and "2031-04-21" in sent[0]


async def test_after_downtime_only_the_latest_missed_reminder_is_sent(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI, shop: None
) -> None:
    expiry = dt.datetime(2031, 3, 20, 15, 0, tzinfo=dt.UTC)
    await _linked_customer(db, "dan", 5002, expiry)
    paused = await _linked_customer(db, "pat", 5003, expiry)
    async with db.transaction() as session:
        await session.execute(
            update(Customer).where(Customer.id == paused).values(status=CustomerStatus.PAUSED)
        )
    fake_api.user(5002, "Dan")
    fake_api.user(5003, "Pat")
    now = dt.datetime(2031, 3, 19, 10, 0, tzinfo=dt.UTC)  # the 7- and 3-day ones were missed
    await jobs.run_reminders(db, settings, now)
    await drain(bot, db, settings, now)
    sent = read_all(fake_api, 5002)
    assert len(sent) == 1 and "in <b>1 day</b>" in sent[0]
    assert read_all(fake_api, 5003) == []  # paused: no reminders


async def test_daily_digest_lists_expiring_and_newly_expired_and_says_nothing_otherwise(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI, shop: None
) -> None:
    await _linked_customer(db, "soon", 5004, T0 + dt.timedelta(days=3))
    await _linked_customer(db, "later", 5005, T0 + dt.timedelta(days=20))
    lapsed = await _linked_customer(db, "lapsed", 5006, T0 + dt.timedelta(days=20))
    async with db.transaction() as session:
        await session.execute(
            update(Customer)
            .where(Customer.id == lapsed)
            .values(expires_at=T0 - dt.timedelta(hours=5))
        )
    for chat in (5004, 5005, 5006):
        fake_api.user(chat, "Customer")
    before_digest_time = dt.datetime(2031, 3, 10, 8, 0, tzinfo=dt.UTC)
    await jobs.run_reminders(db, settings, before_digest_time)
    await drain(bot, db, settings, before_digest_time)
    assert read_all(fake_api, 1001) == []
    await jobs.run_reminders(db, settings, T0)
    await drain(bot, db, settings, T0)
    digest = fake_api.unread(1001)
    assert len(digest) == 1
    text = digest[0].text
    assert "Expiring within 7 days" in text and "soon" in text and "later" not in text
    assert "Expired since the last digest" in text and "lapsed" in text
    assert ("🔁 Renew soon", "cu:r:1") in digest[0].buttons
    read_all(fake_api, 1001)
    await jobs.run_reminders(db, settings, T0 + dt.timedelta(hours=2))
    await drain(bot, db, settings, T0 + dt.timedelta(hours=2))
    assert read_all(fake_api, 1001) == []  # once a day
    # Renew "soon" far ahead: the next day has nothing to say, so nothing is sent.
    async with db.transaction() as session:
        await session.execute(
            update(Customer)
            .where(Customer.username == "soon")
            .values(expires_at=T0 + dt.timedelta(days=60))
        )
    next_day = T0 + dt.timedelta(days=1)
    await jobs.run_reminders(db, settings, next_day)
    await drain(bot, db, settings, next_day)
    assert read_all(fake_api, 1001) == []


async def test_customers_past_expiry_become_expired(
    bot: BotApplication, settings: Settings, db: Database, shop: None
) -> None:
    customer_id = await _linked_customer(db, "eve", 5007, T0 + dt.timedelta(days=1))
    await jobs.run_alerts(db, settings, T0)
    card = await customers.customer_card(db, 1001, customer_id)
    assert card.status == CustomerStatus.ACTIVE
    await jobs.run_alerts(db, settings, T0 + dt.timedelta(days=2))
    card = await customers.customer_card(db, 1001, customer_id)
    assert card.status == CustomerStatus.EXPIRED


async def test_stale_topups_are_raised_once_then_expire_and_the_reseller_is_told(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    fake_api.user(1001, "Alice")
    method_id = (await pricing.list_methods(db))[0].id
    request, _ = await topups.create_request(
        db, telegram_id=1001, credits=10_000, method_id=method_id,
        proof=Proof(ProofKind.REFERENCE, reference="TX-1"), key="k",
        limits=Limits(1_000, 10_000_000, 3, "USD"),
    )  # fmt: skip
    async with db.transaction() as session:
        await session.execute(
            update(TopUpRequest).where(TopUpRequest.id == request.id).values(created_at=T0)
        )
    for hours in (1, 13, 14, 30):
        await tick(bot, db, settings, T0 + dt.timedelta(hours=hours))
    raised = read_all(fake_api, ADMIN_CHAT_ID)
    assert len(raised) == 1 and "Top-up #1" in raised[0] and "waiting since" in raised[0]
    await tick(bot, db, settings, T0 + dt.timedelta(days=3, hours=1))
    told = read_all(fake_api, 1001)
    assert len(told) == 1 and "expired without a decision" in told[0]
    final = await topup_reads.get_request(db, request.id)
    assert final is not None and final.status == TopUpStatus.EXPIRED
    with pytest.raises(topup_decisions.AlreadyDecided):
        await topup_decisions.approve(
            db, request_id=request.id, admin_id=900, admin_name="a", now=T0
        )


async def test_expired_credit_is_removed_and_the_reseller_told_once(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, 1001)
    fake_api.user(1001, "Alice")
    await wallet.add_credit(
        db, telegram_id=1001, amount=2_500, tx_type=TxType.PURCHASE, actor="t", key=key(),
        now=T0, expires_at=T0 + dt.timedelta(days=1),
    )  # fmt: skip
    for hours in (2, 30, 31):
        await tick(bot, db, settings, T0 + dt.timedelta(hours=hours))
    told = read_all(fake_api, 1001)
    assert told == ["⌛ 25.00 credits of your credits expired and were removed."]
    summary = await wallet.balance_summary(db, 1001, now=T0)
    assert summary.balance.balance == 0


async def _queue(db: Database, chat_id: int, n: int = 1) -> None:
    from bot.services.outbox import Outgoing, enqueue

    async with db.transaction() as session:
        await enqueue(
            session,
            [
                Outgoing(f"test:{chat_id}:{i}", chat_id, "grant_expired", {"amount": 100 + i})
                for i in range(n)
            ],
            T0,
        )


async def _statuses(db: Database) -> dict[str, str]:
    async with db.transaction() as session:
        rows = await session.execute(select(OutboxMessage.key, OutboxMessage.status))
        return dict(rows.all())  # type: ignore[arg-type]


async def test_sender_marks_a_chat_that_blocked_the_bot_and_writes_to_it_no_more(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    fake_api.user(6001, "Blocker")
    fake_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=6001)
    await _queue(db, 6001, 2)
    await drain(bot, db, settings, T0)
    assert set((await _statuses(db)).values()) == {OutboxStatus.DROPPED}
    async with db.transaction() as session:
        assert await session.scalar(select(UnreachableChat.chat_id)) == 6001
    await _queue(db, 6001, 3)  # new keys, same chat: not even queued
    assert len(await _statuses(db)) == 2
    assert fake_api.events(6001) == []
    # Unblocked and started again: the chat can be written to again.
    await fake_api.send(fake_api.user(6001, "Blocker"), "/start")
    await fake_api.next_event(6001)
    await _queue(db, 6001, 3)
    statuses = await _statuses(db)
    assert len(statuses) == 3 and statuses["test:6001:2"] == OutboxStatus.PENDING


async def test_sender_honours_retry_after_and_retries_network_errors(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    fake_api.user(6002, "Patient")
    fake_api.fail(
        "sendMessage", 429, "Too Many Requests: retry after 1", chat_id=6002, retry_after=1
    )
    fake_api.fail("sendMessage", 502, "Bad Gateway", chat_id=6002, times=2)
    await _queue(db, 6002, 2)
    await drain(bot, db, settings, T0)
    assert set((await _statuses(db)).values()) == {OutboxStatus.SENT}
    assert len(fake_api.events(6002)) == 2  # each delivered exactly once
    attempts = [p for m, p in fake_api.requests if m == "sendMessage" and p["chat_id"] == "6002"]
    assert len(attempts) == 5  # one 429 waited out, two 502s retried, two deliveries


async def test_sender_gives_up_after_the_configured_attempts(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    fake_api.user(6003, "Unlucky")
    fake_api.fail("sendMessage", 502, "Bad Gateway", chat_id=6003, times=100)
    await _queue(db, 6003)
    few = settings.model_copy(update={"outbox_max_attempts": 3})
    for minute in range(10):
        await notifier.drain(
            bot.bot, db, few, T0 + dt.timedelta(minutes=minute), budget_seconds=5, last_sent={},
            catalogs=bot.bot_data["i18n"],
        )  # fmt: skip
    assert set((await _statuses(db)).values()) == {OutboxStatus.FAILED}
    attempts = [m for m, p in fake_api.requests if m == "sendMessage"]
    assert len(attempts) == 3


async def test_a_second_write_of_a_key_queues_once(db: Database) -> None:
    await _queue(db, 6004)
    await _queue(db, 6004)
    assert len(await _statuses(db)) == 1


async def test_jobs_are_scheduled_and_catch_up_at_start_up(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, 1001, threshold=5_000, credit=1_000)
    fake_api.user(1001, "Alice")
    live = settings.model_copy(update={"jobs_enabled": True})
    async with running_bot(live, db) as app:
        assert app.job_queue is not None
        names = {job.name for job in app.job_queue.jobs()}
        assert names == {
            "outbox",
            "alerts",
            "reminders",
            "reconcile",
            "panel_check",
            "stars_reconcile",
            "stars_stranded",
            "reports",
            "pause_ends",
        }
        # Nothing but the start-up run has happened: the alert arrives within seconds.
        alert = await fake_api.next_event(1001, within=15)
        assert "below your alert threshold" in alert.text


# --- chats that refused the bot, and chats that came back ------------------------------


async def _marked(db: Database, chat_id: int) -> bool:
    async with db.transaction() as session:
        return await session.get(UnreachableChat, chat_id) is not None


async def _until_reachable(db: Database, chat_id: int, within: float = 10.0) -> None:
    """Wait for the bot to handle an update that has no visible answer."""
    deadline = time.monotonic() + within
    while await _marked(db, chat_id):
        assert time.monotonic() < deadline, f"chat {chat_id} is still marked unreachable"
        await asyncio.sleep(0.05)


async def _top_up_request(db: Database, created_at: dt.datetime) -> int:
    method_id = (await pricing.list_methods(db))[0].id
    request, _ = await topups.create_request(
        db, telegram_id=1001, credits=10_000, method_id=method_id,
        proof=Proof(ProofKind.REFERENCE, reference="TX-1"), key=key(),
        limits=Limits(1_000, 10_000_000, 3, "USD"),
    )  # fmt: skip
    async with db.transaction() as session:
        await session.execute(
            update(TopUpRequest).where(TopUpRequest.id == request.id).values(created_at=created_at)
        )
    return request.id


async def test_a_403_from_the_admin_group_is_logged_and_retried_and_never_silences_the_group(
    bot: BotApplication,
    settings: Settings,
    db: Database,
    fake_api: FakeBotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    await _top_up_request(db, T0)
    fake_api.fail(
        "sendMessage", 403, "Forbidden: bot is not a member of the supergroup chat",
        chat_id=ADMIN_CHAT_ID,
    )  # fmt: skip
    with caplog.at_level(logging.ERROR, logger="jobs.notifier"):
        await tick(bot, db, settings, T0 + dt.timedelta(hours=13))
    assert read_all(fake_api, ADMIN_CHAT_ID) == []
    assert [r for r in caplog.records if r.levelno == logging.ERROR and "not a member" in r.message]
    assert not await _marked(db, ADMIN_CHAT_ID)
    assert set((await _statuses(db)).values()) == {OutboxStatus.PENDING}
    # The group works again: the reminder goes out after its backoff, and later ones too.
    await tick(bot, db, settings, T0 + dt.timedelta(hours=13, minutes=10))
    raised = read_all(fake_api, ADMIN_CHAT_ID)
    assert len(raised) == 1 and "Top-up #1" in raised[0]
    await _top_up_request(db, T0 + dt.timedelta(hours=1))
    await tick(bot, db, settings, T0 + dt.timedelta(hours=14, minutes=10))
    raised = read_all(fake_api, ADMIN_CHAT_ID)
    assert len(raised) == 1 and "Top-up #2" in raised[0]


@pytest.mark.parametrize("action", ["text", "sticker", "old button"])
async def test_a_blocked_reseller_who_writes_anything_gets_notices_again(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI, action: str
) -> None:
    alice = fake_api.user(1001, "Alice")
    reseller = await make_reseller(db, 1001, threshold=5_000, credit=10_000)
    await fake_api.send(alice, "/start")
    menu = await fake_api.next_event(1001)
    fake_api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user", chat_id=1001)
    await _queue(db, 1001)
    await drain(bot, db, settings, T0)
    assert await _marked(db, 1001)
    await _spend(db, reseller.account_id, 6_000)
    await tick(bot, db, settings, T0 + dt.timedelta(minutes=5))  # blocked: not even queued
    assert fake_api.unread(1001) == []
    # Unblocked, Alice does something other than /start.
    if action == "text":
        await fake_api.send(alice, "hello?")
        await fake_api.next_event(1001)
    elif action == "sticker":
        await fake_api.send_sticker(alice)
        await fake_api.next_event(1001)
    else:
        await fake_api.answer(await fake_api.tap(alice, menu, "zz:gone"))
    assert not await _marked(db, 1001)
    await tick(bot, db, settings, T0 + dt.timedelta(minutes=10))
    sent = read_all(fake_api, 1001)
    assert len(sent) == 1 and "below your alert threshold" in sent[0]
    await _queue(db, 1001, 2)
    await drain(bot, db, settings, T0 + dt.timedelta(minutes=11))
    assert read_all(fake_api, 1001) == ["⌛ 1.01 credits of your credits expired and were removed."]


async def test_a_group_marked_unreachable_is_cleared_when_the_bot_is_added_back_not_removed(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await outbox.mark_unreachable(db, ADMIN_CHAT_ID, "Forbidden: bot was kicked", T0)
    admin = fake_api.user(ADMIN_ID, "Admin")
    await fake_api.member_update(admin, ADMIN_CHAT_ID, old="member", new="left")
    # The admin's next update is handled after that one: the removal cleared nothing.
    await fake_api.send(admin, "hello?")
    await fake_api.next_event(ADMIN_ID)
    assert await _marked(db, ADMIN_CHAT_ID)
    await fake_api.member_update(admin, ADMIN_CHAT_ID, old="left", new="member")
    await _until_reachable(db, ADMIN_CHAT_ID)


async def test_a_stale_top_up_whose_reminder_could_not_be_queued_is_raised_once_it_can_be(
    bot: BotApplication, settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    request_id = await _top_up_request(db, T0)
    # Marked unreachable earlier (as the sender used to do on a 403 from the group).
    await outbox.mark_unreachable(db, ADMIN_CHAT_ID, "Forbidden: bot was kicked", T0)
    await tick(bot, db, settings, T0 + dt.timedelta(hours=13))
    assert read_all(fake_api, ADMIN_CHAT_ID) == []
    # The bot is added back to the group; the next pass raises the request.
    await fake_api.member_update(fake_api.user(ADMIN_ID, "Admin"), ADMIN_CHAT_ID)
    await _until_reachable(db, ADMIN_CHAT_ID)
    await tick(bot, db, settings, T0 + dt.timedelta(hours=13, minutes=5))
    raised = read_all(fake_api, ADMIN_CHAT_ID)
    assert len(raised) == 1 and f"Top-up #{request_id}" in raised[0]
    await tick(bot, db, settings, T0 + dt.timedelta(hours=14))
    assert read_all(fake_api, ADMIN_CHAT_ID) == []  # once


@pytest.mark.parametrize("job", ["low balance", "digest", "stale top-up"])
async def test_a_notice_that_could_not_be_queued_is_queued_on_the_next_pass_once_it_can_be(
    settings: Settings, db: Database, shop: None, job: str
) -> None:
    config = jobs.alert_settings(settings)
    chat_id = 1001
    if job == "low balance":
        async with db.transaction() as session:
            await session.execute(
                update(Reseller)
                .where(Reseller.telegram_id == 1001)
                .values(low_balance_threshold=200_000)
            )

        async def run(now: dt.datetime) -> int:
            return await alerts.scan_balances(db, now)
    elif job == "digest":
        await _linked_customer(db, "soon", 5004, T0 + dt.timedelta(days=3))

        async def run(now: dt.datetime) -> int:
            return await customer_expiry.queue_digests(db, now, config)
    else:
        await setup_topups(db)
        await _top_up_request(db, T0 - dt.timedelta(hours=13))
        chat_id = ADMIN_CHAT_ID

        async def run(now: dt.datetime) -> int:
            return await alerts.stale_topups(db, now, config)

    await outbox.mark_unreachable(db, chat_id, "Forbidden: bot was blocked by the user", T0)
    assert await run(T0) == 0
    await outbox.mark_reachable(db, chat_id)
    assert await run(T0 + dt.timedelta(minutes=30)) == 1
    assert await run(T0 + dt.timedelta(hours=1)) == 0  # once
