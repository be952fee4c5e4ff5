"""The scheduled reports' services: the summary's figures against a known ledger, when
each report is due, and that a period is queued once however often the job runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.db import Database
from bot.services import (
    backup_schedule,
    job_runs,
    outbox,
    report_schedule,
    report_switches,
    star_methods,
    star_payments,
    star_refunds,
    stars,
    statements,
    summaries,
)
from bot.services.admin_log import ActionError
from bot.services.backup import BackupMade
from bot.services.report_schedule import Every, Schedule
from bot.services.statements import Period
from bot.services.summaries import TopReseller
from models import OutboxMessage, Transfer
from tests import report_ledger
from tests.helpers import make_reseller
from tests.report_ledger import ALICE_MARCH, BOB_MARCH, DAY, DAY_FIGURES

UTC = ZoneInfo("UTC")
SECTIONS = ("sales", "topups", "credits", "customers", "expiries", "debt", "top")
PLAN = Schedule(
    zone=UTC, admin_chat_id=-1, daily=dt.time(8), weekly=(1, dt.time(8)), sections=SECTIONS,
    statements=dt.time(10),
)  # fmt: skip
NEXT_MORNING = dt.datetime(2031, 3, 12, 8, 30, tzinfo=dt.UTC)


async def test_a_days_summary_adds_up_the_known_ledger(db: Database) -> None:
    await report_ledger.build(db)
    found = await summaries.summary(db, Period(DAY, DAY), UTC, now=NEXT_MORNING)
    assert {name: getattr(found, name) for name in DAY_FIGURES} == DAY_FIGURES
    assert found.expiring == 2  # new1 and old1 end within a week; new2 later
    assert found.top == (TopReseller("Bob", 1002, 2, 5_000), TopReseller("Alice", 1001, 3, 4_000))
    again = summaries.Summary.from_payload(found.payload())
    assert again == found


async def test_a_weeks_summary_takes_in_the_day_before(db: Database) -> None:
    await report_ledger.build(db)
    week = Period(DAY - dt.timedelta(days=1), DAY + dt.timedelta(days=5))
    found = await summaries.summary(db, week, UTC, now=NEXT_MORNING)
    assert (found.topups, found.topups_amount, found.issued) == (3, 17_800, 19_800)
    assert found.spent == DAY_FIGURES["spent"]


async def test_a_stars_top_up_whose_refund_telegram_refused_is_one_top_up(db: Database) -> None:
    """The credits taken back for the refund and given back when Telegram refused it are
    the same top-up, not a second one."""
    alice = await make_reseller(db, 1001, name="Alice")
    method = await star_methods.configure(db, code="stars", name="Telegram Stars", rate=200,
                                          now=report_ledger.NOON)  # fmt: skip
    invoice = await stars.create_invoice(
        db, telegram_id=alice.telegram_id, method_id=method.id, credits=5_000,
        min_credits=1_000, max_credits=10_000_000, now=report_ledger.NOON,
    )  # fmt: skip
    paid = await star_payments.record_payment(
        db, charge_id="stxCHARGE1", provider_charge_id=None, payload=invoice.payload,
        telegram_id=alice.telegram_id, total_amount=invoice.stars, currency="XTR",
        admin_chat_id=None, now=report_ledger.NOON,
    )  # fmt: skip
    pending = await star_refunds.begin_refund(db, payment_id=paid.payment.id, admin_id=900,
                                              reason="r", now=report_ledger.NOON)  # fmt: skip
    await star_refunds.undo_refund(db, pending=pending, error="CHARGE_NOT_FOUND",
                                   now=report_ledger.NOON)  # fmt: skip
    async with db.transaction() as session:
        await session.execute(update(Transfer).values(created_at=report_ledger.NOON))
    found = await summaries.summary(db, Period(DAY, DAY), UTC, now=NEXT_MORNING)
    assert (found.topups, found.topups_amount) == (1, 5_000)


async def test_an_empty_period_is_all_zeros(db: Database) -> None:
    await report_ledger.build(db)
    day = DAY + dt.timedelta(days=1)
    found = await summaries.summary(db, Period(day, day), UTC, now=NEXT_MORNING)
    assert (found.activations, found.topups_amount, found.issued, found.spent) == (0, 0, 0, 0)
    assert found.top == () and found.new_customers == 0
    assert found.debt == 4_000  # standing debt is not a period's figure


async def test_the_statement_reused_for_the_month_adds_up(db: Database) -> None:
    known = await report_ledger.build(db)
    march = Period(dt.date(2031, 3, 1), dt.date(2031, 3, 31))
    for reseller, expected in ((known.alice, ALICE_MARCH), (known.bob, BOB_MARCH)):
        found = await statements.statement(db, reseller.telegram_id, march, UTC)
        assert {name: getattr(found, name) for name in expected} == expected
        assert found.adds_up


def test_each_report_is_due_from_its_time_on_its_day() -> None:
    at = dt.datetime(2031, 3, 12, 7, 59, tzinfo=dt.UTC)  # a Wednesday
    assert report_schedule.summary_due(Every.DAY, at, PLAN) is None
    at = at.replace(hour=8, minute=0)
    assert report_schedule.summary_due(Every.DAY, at, PLAN) == Period(DAY, DAY)
    assert report_schedule.summary_due(Every.WEEK, at, PLAN) is None
    monday = dt.datetime(2031, 3, 17, 8, tzinfo=dt.UTC)
    assert report_schedule.summary_due(Every.WEEK, monday, PLAN) == Period(
        dt.date(2031, 3, 10), dt.date(2031, 3, 16)
    )
    assert (
        report_schedule.statement_due(dt.datetime(2031, 4, 1, 9, 59, tzinfo=dt.UTC), PLAN) is None
    )
    april = Period(dt.date(2031, 3, 1), dt.date(2031, 3, 31))
    assert report_schedule.statement_due(dt.datetime(2031, 4, 1, 10, tzinfo=dt.UTC), PLAN) == april
    # Later in the first week still: a bot that was down on the 1st catches up; not after.
    assert report_schedule.statement_due(dt.datetime(2031, 4, 7, 23, tzinfo=dt.UTC), PLAN) == april
    assert report_schedule.statement_due(dt.datetime(2031, 4, 8, 0, tzinfo=dt.UTC), PLAN) is None


def test_the_report_times_are_local() -> None:
    tehran = Schedule(**{**PLAN.__dict__, "zone": ZoneInfo("Asia/Tehran")})
    at = dt.datetime(2031, 3, 12, 4, 30, tzinfo=dt.UTC)  # 08:00 in Tehran (+03:30)
    assert report_schedule.summary_due(Every.DAY, at, tehran) == Period(DAY, DAY)
    assert report_schedule.summary_due(Every.DAY, at - dt.timedelta(minutes=1), tehran) is None


def test_a_report_switched_off_is_never_due() -> None:
    off = Schedule(**{**PLAN.__dict__, "daily": None, "weekly": None, "statements": None})
    monday_first = dt.datetime(2031, 9, 1, 12, tzinfo=dt.UTC)
    assert report_schedule.summary_due(Every.DAY, monday_first, off) is None
    assert report_schedule.summary_due(Every.WEEK, monday_first, off) is None
    assert report_schedule.statement_due(monday_first, off) is None


async def _keys(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage.key).order_by(OutboxMessage.id)))


async def test_a_period_is_queued_once_however_often_the_job_runs(db: Database) -> None:
    await report_ledger.build(db)
    monday = dt.datetime(2031, 3, 17, 8, 5, tzinfo=dt.UTC)
    assert await report_schedule.queue_summaries(db, monday, PLAN) == 2
    for minutes in (1, 30, 600):
        later = monday + dt.timedelta(minutes=minutes)
        assert await report_schedule.queue_summaries(db, later, PLAN) == 0
    assert await _keys(db) == [
        "report:daily:-1:2031-03-16..2031-03-16",
        "report:weekly:-1:2031-03-10..2031-03-16",
    ]


async def test_a_run_already_recorded_queues_nothing_even_if_its_message_is_gone(
    db: Database,
) -> None:
    async with db.transaction() as session:
        await job_runs.record(session, "report:daily", "2031-03-11..2031-03-11", NEXT_MORNING)
    assert await report_schedule.queue_summaries(db, NEXT_MORNING, PLAN) == 0
    assert await _keys(db) == []


async def test_statements_go_to_every_reseller_once_a_month(db: Database) -> None:
    known = await report_ledger.build(db)
    first = dt.datetime(2031, 4, 1, 10, 0, tzinfo=dt.UTC)
    assert await report_schedule.queue_statements(db, first, PLAN) == 3
    assert await report_schedule.queue_statements(db, first + dt.timedelta(days=3), PLAN) == 0
    ids = (known.alice.id, known.bob.id, known.carol.id)
    assert await _keys(db) == [f"report:statements:{i}:2031-03" for i in ids]


async def test_a_report_kept_from_a_blocked_chat_goes_out_once_it_is_reachable(
    db: Database,
) -> None:
    """Alice blocked the bot before the 1st and is back on the 3rd; the admin group was
    out of reach at the summary's time and is back an hour later."""
    known = await report_ledger.build(db)
    first = dt.datetime(2031, 4, 1, 10, 0, tzinfo=dt.UTC)
    for chat in (known.alice.telegram_id, PLAN.admin_chat_id):
        assert chat is not None
        await outbox.mark_unreachable(db, chat, "Forbidden: bot was blocked by the user", first)
    assert await report_schedule.queue_statements(db, first, PLAN) == 2  # Bob and Carol
    assert await report_schedule.queue_summaries(db, first, PLAN) == 0
    await outbox.mark_reachable(db, known.alice.telegram_id)
    third = first + dt.timedelta(days=2)
    assert await report_schedule.queue_statements(db, third, PLAN) == 1
    assert await report_schedule.queue_statements(db, third, PLAN) == 0
    assert PLAN.admin_chat_id is not None
    await outbox.mark_reachable(db, PLAN.admin_chat_id)
    an_hour_later = first + dt.timedelta(hours=1)
    assert await report_schedule.queue_summaries(db, an_hour_later, PLAN) == 1
    assert await report_schedule.queue_summaries(db, an_hour_later, PLAN) == 0
    ids = (known.bob.id, known.carol.id, known.alice.id)
    assert await _keys(db) == [
        *(f"report:statements:{i}:2031-03" for i in ids),
        "report:daily:-1:2031-03-31..2031-03-31",
    ]


async def test_the_backup_schedule_keeps_its_history_in_job_runs(db: Database) -> None:
    at = dt.datetime(2031, 3, 12, 8, tzinfo=dt.UTC)
    assert await backup_schedule.last_sent(db, -5) is None
    made = BackupMade(Path("auto-1.enc"), engine="sqlite", encrypted=True, size=10, made_at=at)
    await backup_schedule.record_sent(db, chat_id=-5, made=made, message_id=7, now=at)
    await backup_schedule.record_sent(db, chat_id=-5, made=made, message_id=7, now=at)
    assert await backup_schedule.last_sent(db, -5) == at
    assert await backup_schedule.history(db, -5) == [backup_schedule.Sent(at, "auto-1.enc", 7)]
    assert await backup_schedule.last_sent(db, -6) is None


async def test_an_owners_choice_wins_over_the_setting_and_an_unknown_name_is_refused(
    db: Database,
) -> None:
    defaults = {"daily": True, "weekly": False, "sales": True}
    assert report_switches.effective(defaults, {}) == defaults
    known = tuple(defaults)
    await report_switches.choose(db, "weekly", True, known=known, actor="tg:1", now=NEXT_MORNING)
    choices = await report_switches.choose(
        db, "daily", False, known=known, actor="tg:1", now=NEXT_MORNING
    )
    assert report_switches.effective(defaults, choices) == {
        "daily": False, "weekly": True, "sales": True,
    }  # fmt: skip
    with pytest.raises(ActionError) as refused:
        await report_switches.choose(db, "bogus", True, known=known, actor="tg:1", now=NEXT_MORNING)
    assert refused.value.code == "unknown_switch"
    assert await report_switches.chosen(db) == {"weekly": True, "daily": False}
