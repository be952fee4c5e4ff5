"""Scheduled reports end to end: the jobs run at set moments against the real application
and the fake Bot API. The admin group gets one daily summary a day however often the job
runs and across a restart, the weekly one on its weekday, in the group's language; each
reseller gets one statement a month, as a document whose XLSX holds the same figures."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from sqlalchemy import func, select

from bot import keyboards
from bot.context import BotApplication
from bot.db import Database
from bot.services import languages, report_switches
from bot.settings import Settings
from handlers.admin.report_callbacks import SWITCH
from jobs import reports
from models import AdminAction
from tests import report_ledger
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI
from tests.helpers import say, tap
from tests.report_ledger import ALICE_MARCH, BOB_MARCH
from tests.test_jobs import drain, read_all

WEDNESDAY = dt.datetime(2031, 3, 12, 8, 0, tzinfo=dt.UTC)  # the morning after DAY
MONDAY = dt.datetime(2031, 3, 17, 8, 0, tzinfo=dt.UTC)
APRIL_FIRST = dt.datetime(2031, 4, 1, 10, 0, tzinfo=dt.UTC)


async def _run(app: BotApplication, db: Database, settings: Settings, now: dt.datetime) -> None:
    await reports.run_reports(db, settings, now)
    await drain(app, db, settings, now)


def _group(fake_api: FakeBotAPI) -> list[str]:
    return read_all(fake_api, ADMIN_CHAT_ID)


async def test_the_group_gets_one_daily_summary_a_day_with_the_days_figures(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await report_ledger.build(db)
    fake_api.group(ADMIN_CHAT_ID)
    settings = settings.model_copy(update={"statements_enabled": False})
    async with running_bot(settings, db) as app:
        await _run(app, db, settings, WEDNESDAY - dt.timedelta(minutes=1))
        assert _group(fake_api) == []  # not before its time
        await _run(app, db, settings, WEDNESDAY)
        await _run(app, db, settings, WEDNESDAY + dt.timedelta(minutes=5))
        (summary,) = _group(fake_api)
    assert (
        "Daily summary</b> for 2031-03-11" in summary or "Daily summary for 2031-03-11" in summary
    )
    for line in (
        "🛒 Activations: 3 · 60.00 credits",
        "🔁 Renewals: 2 · 30.00 credits",
        "↩️ Refunds: 5.00 credits",
        "➕ Top-ups: 2 · 108.00 credits",
        "💳 Credits issued: 128.00 credits · spent: 85.00 credits · expired: 8.00 credits",
        "👥 New customers: 2",
        "⏳ Subscriptions ending in the next 7 days: 2",
        "💰 Postpaid debt: 40.00 credits, owed by 1 reseller",
        "1. Bob: 2 sales · 50.00 credits",
        "2. Alice: 3 sales · 40.00 credits",
    ):
        assert line in summary, (line, summary)
    async with running_bot(settings, db) as app:  # a restart sends it no second time
        await _run(app, db, settings, WEDNESDAY + dt.timedelta(hours=3))
        assert _group(fake_api) == []
        await _run(app, db, settings, WEDNESDAY + dt.timedelta(days=1))  # the next day's
        (thursday,) = _group(fake_api)
    assert "2031-03-12" in thursday and "🏆 Top resellers: no sales" in thursday


async def test_the_weekly_summary_comes_on_its_weekday_with_the_chosen_sections(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await report_ledger.build(db)
    fake_api.group(ADMIN_CHAT_ID)
    chosen = settings.model_copy(
        update={
            "report_daily_enabled": False,
            "report_sections": ("topups", "debt"),
            "statements_enabled": False,
        }
    )
    async with running_bot(chosen, db) as app:
        for day in range(5):  # Wednesday to Sunday: none
            await _run(app, db, chosen, WEDNESDAY + dt.timedelta(days=day, hours=1))
        assert _group(fake_api) == []
        await _run(app, db, chosen, MONDAY)
        await _run(app, db, chosen, MONDAY + dt.timedelta(hours=2))
        (weekly,) = _group(fake_api)
    assert "Weekly summary" in weekly and "2031-03-10" in weekly and "2031-03-16" in weekly
    assert "➕ Top-ups: 3 · 178.00 credits" in weekly and "Postpaid debt" in weekly
    assert "Activations" not in weekly and "Top resellers" not in weekly


async def test_the_summary_is_written_in_the_groups_language(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await report_ledger.build(db)
    fake_api.group(ADMIN_CHAT_ID)
    await languages.choose(db, ADMIN_CHAT_ID, "fa", WEDNESDAY)
    async with running_bot(settings, db) as app:
        await _run(app, db, settings, WEDNESDAY)
        (summary,) = _group(fake_api)
    # Persian digits: 60.00 activations, 2031-03-11.
    assert "۶۰٫۰۰" in summary and "۲۰۳۱-۰۳-۱۱" in summary, summary


def _sheet(fake_api: FakeBotAPI, event: Event) -> list[tuple[object, ...]]:
    content = fake_api.file_content(event.message["document"]["file_id"])
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    sheet = book.active
    assert isinstance(sheet, ReadOnlyWorksheet)
    rows: list[tuple[object, ...]] = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def _figures(rows: list[tuple[object, ...]]) -> dict[str, object]:
    labels = {
        "Opening balance": "opening", "Top-ups and credits added": "added",
        "Credits removed": "removed", "Sales": "sales", "Refunds": "refunds",
        "Cash received": "cash", "Expired credits": "expired", "Closing balance": "closing",
    }  # fmt: skip
    return {labels[str(row[0])]: row[1] for row in rows if row and row[0] in labels}


def _hundredths(expected: dict[str, int]) -> dict[str, float]:
    signs = {"removed": -1, "sales": -1, "expired": -1}
    return {name: signs.get(name, 1) * value / 100 for name, value in expected.items()}


async def test_each_reseller_gets_one_monthly_statement_with_its_xlsx(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await report_ledger.build(db)
    for telegram_id, name in ((1001, "Alice"), (1002, "Bob"), (1003, "Carol")):
        fake_api.user(telegram_id, name)
    quiet = settings.model_copy(update={"admin_chat_id": None})  # statements only
    async with running_bot(quiet, db) as app:
        await _run(app, db, quiet, APRIL_FIRST - dt.timedelta(minutes=1))
        assert fake_api.unread(1001) == []
        await _run(app, db, quiet, APRIL_FIRST)
    async with running_bot(quiet, db) as app:  # a restart, later that day: nothing more
        await _run(app, db, quiet, APRIL_FIRST + dt.timedelta(hours=5))
    alice, bob, carol = (fake_api.unread(chat) for chat in (1001, 1002, 1003))
    assert len(alice) == len(bob) == len(carol) == 1
    (sent,) = alice
    assert sent.method == "sendDocument"
    assert sent.message["document"]["file_name"] == "statement-2031-03.xlsx"
    assert "Statement of Alice" in sent.text and "From 2031-03-01 to 2031-03-31" in sent.text
    assert "Opening balance: 10.00 credits" in sent.text
    assert "Closing balance: <b>165.00 credits</b>" in sent.text, sent.text
    rows = _sheet(fake_api, sent)
    assert rows[0] == ("Reseller", "Alice", 1001)
    assert _figures(rows) == _hundredths(ALICE_MARCH)
    header = rows.index(("Date", "Kind", "Amount", "Balance", "Comment"))
    movements = rows[header + 1 :]
    # Four grants (one expired), the expiry, three sales, the refund; February's is before.
    assert len(movements) == 9
    assert movements[-1][3] == ALICE_MARCH["closing"] / 100  # the running balance ends there
    assert _figures(_sheet(fake_api, bob[0])) == _hundredths(BOB_MARCH)


async def test_a_reseller_with_no_activity_gets_a_zero_statement(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await report_ledger.build(db)
    fake_api.user(1003, "Carol")
    quiet = settings.model_copy(update={"admin_chat_id": None})
    async with running_bot(quiet, db) as app:
        await _run(app, db, quiet, APRIL_FIRST)
    (sent,) = fake_api.unread(1003)
    assert "No movements in this period." in sent.text and "0.00 credits" in sent.text
    rows = _sheet(fake_api, sent)
    assert _figures(rows)["opening"] == _figures(rows)["closing"] == 0
    assert rows[-1] == ("Date", "Kind", "Amount", "Balance", "Comment")  # no movement lines


async def test_an_owner_switches_reports_and_sections_off_and_on_from_the_admin_menu(
    settings: Settings, db: Database, fake_api: FakeBotAPI
) -> None:
    await report_ledger.build(db)
    fake_api.group(ADMIN_CHAT_ID)
    settings = settings.model_copy(update={"statements_enabled": False})
    async with running_bot(settings, db) as app:
        boss = fake_api.user(ADMIN_ID, "Boss")
        menu = await say(fake_api, boss, "/start")
        screen = await tap(fake_api, boss, menu, keyboards.ADMIN_REPORTS)
        assert "Scheduled reports" in screen.text and "every Monday at 08:00" in screen.text
        daily_off = SWITCH.build("daily", False)
        screen = await tap(fake_api, boss, screen, daily_off)
        assert screen.text.startswith("▫️ Daily summary switched off.")
        assert ("▫️ Daily summary", SWITCH.build("daily", True)) in screen.buttons
        await fake_api.answer(await fake_api.tap(boss, menu, daily_off))  # a stale second tap
        await _run(app, db, settings, WEDNESDAY)
        assert _group(fake_api) == []  # off: the day passes without one
        screen = await tap(fake_api, boss, screen, SWITCH.build("top", False))
        screen = await tap(fake_api, boss, screen, SWITCH.build("daily", True))
        await _run(app, db, settings, WEDNESDAY + dt.timedelta(days=1))
        (summary,) = _group(fake_api)
    assert "Activations" in summary and "Top resellers" not in summary
    assert await report_switches.chosen(db) == {"daily": True, "top": False}
    async with db.transaction() as session:
        logged = await session.scalar(
            select(func.count()).where(AdminAction.action == report_switches.ACTION)
        )
    assert logged == 3  # off, top off, on again: the stale tap changed nothing


async def test_only_an_owner_may_switch_a_report(
    settings: Settings, db: Database, fake_api: FakeBotAPI, bot: BotApplication
) -> None:
    await report_ledger.build(db)
    alice = fake_api.user(1001, "Alice")
    menu = await say(fake_api, alice, "/start")
    assert keyboards.ADMIN_REPORTS not in [data for _, data in menu.buttons]
    for forged in (keyboards.ADMIN_REPORTS, SWITCH.build("daily", False)):
        answer = await fake_api.answer(await fake_api.tap(alice, menu, forged))
        assert str(answer.get("show_alert")).lower() == "true"
    assert fake_api.unread(alice.id) == []
    assert await report_switches.chosen(db) == {}
