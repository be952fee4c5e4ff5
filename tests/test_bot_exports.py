"""📤 Export in chat, end to end: an admin exports the action log as XLSX from the admin
menu (a typed period, bad dates asked again); a reseller exports its credit history as CSV
from its balance screen; a forged export button for another reseller, or for the action
log, is refused and sends nothing; a second tap while the file is built builds one file;
an admin exports one reseller's sales from its card."""

from __future__ import annotations

import asyncio
import csv
import io

import openpyxl
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from sqlalchemy import select

from bot.adapters.exports import Format
from bot.context import BotApplication
from bot.db import Database
from bot.services import plans, sales, wallet
from bot.services.exports import Kind
from bot.services.provisioning import LocalProvider
from handlers.admin import callbacks as admin_callbacks
from handlers.exports import callbacks as buttons
from models import AdminAction, LedgerAccount, Reseller, Transfer, TxType
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import key, make_reseller, now, say, tap

ALICE, BOB = 1001, 1002


async def _world(db: Database) -> None:
    await make_reseller(db, ALICE, name="Alice", credit=10_000)
    await make_reseller(db, BOB, name="Bob", credit=5_000)
    for amount, comment in ((2_550, "=SUM(A1:A9)"), (1_000, "bank")):
        await wallet.add_credit(db, telegram_id=ALICE, amount=amount, tx_type=TxType.PURCHASE,
                                actor="tg:900", key=key(), now=now(), comment=comment)  # fmt: skip


def _rows_xlsx(content: bytes) -> list[tuple[object, ...]]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    sheet = book.active
    assert isinstance(sheet, ReadOnlyWorksheet)
    rows: list[tuple[object, ...]] = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


async def _document(fake_api: FakeBotAPI, user: User) -> tuple[Event, bytes]:
    sent = await fake_api.next_event(user.id)
    assert sent.method == "sendDocument", sent
    return sent, fake_api.file_content(sent.message["document"]["file_id"])


async def test_an_admin_exports_the_action_log_as_xlsx_for_a_typed_period(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await _world(db)
    boss = fake_api.user(ADMIN_ID, "Boss")
    menu = await say(fake_api, boss, "/start")
    what = await tap(fake_api, boss, menu, menu.button("Export"))
    assert [label for label, _ in what.buttons][:5] == [
        "Credit history", "Customers", "Top-ups", "Sales", "Action log",
    ]  # fmt: skip
    prompt = await tap(fake_api, boss, what, what.button("Action log"))
    assert "Choose a period" in prompt.text
    today = now().date()
    for bad, problem in (("yesterday", "two dates"), (f"{today} 2099-01-01", "after today")):
        again = await say(fake_api, boss, bad)
        assert problem in again.text and again.message["message_id"] == prompt.message["message_id"]
    formats = await say(fake_api, boss, f"{today.replace(day=1)} {today}")
    assert "Which kind of file?" in formats.text
    building = await tap(fake_api, boss, formats, formats.button("XLSX"))
    assert "Preparing" in building.text and building.buttons == []
    sent, content = await _document(fake_api, boss)
    assert sent.message["document"]["file_name"] == f"actions-{today.replace(day=1)}-{today}.xlsx"
    async with db.transaction() as session:
        logged = list(await session.scalars(select(AdminAction).order_by(AdminAction.id)))
    header, *rows = _rows_xlsx(content)
    assert header == ("Date", "By", "Action", "Reseller", "Values", "Reason", "Number")
    assert [row[-1] for row in rows] == [a.id for a in logged] and len(rows) == 6
    assert [(row[1], row[3]) for row in rows] == [
        ("cli", "Alice"), ("test", "Alice"), ("cli", "Bob"), ("test", "Bob"),
        ("tg:900", "Alice"), ("tg:900", "Alice"),
    ]  # fmt: skip
    assert rows[4][2] == "➕ Credits added"
    assert rows[4][4] == "balance=100.00->125.50 amount=25.50 tx_type=purchase"
    assert rows[4][5] == "'=SUM(A1:A9)"  # a formula-looking reason stays text
    assert "6 rows" in sent.text


async def test_a_reseller_exports_its_own_history_as_csv_from_its_balance(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await _world(db)
    alice = fake_api.user(ALICE, "Alice")
    balance = await say(fake_api, alice, "/balance")
    what = await tap(fake_api, alice, balance, balance.button("Export"))
    assert [label for label, _ in what.buttons][:4] == [
        "Credit history", "Customers", "Top-ups", "Sales",
    ]  # fmt: skip
    assert "Action log" not in what.text + str(what.buttons)
    prompt = await tap(fake_api, alice, what, what.button("Credit history"))
    formats = await tap(fake_api, alice, prompt, prompt.button("Last 30 days"))
    csv_button = formats.button("CSV")
    # A second tap while the file is being built builds nothing more.
    first = await fake_api.tap(alice, formats, csv_button)
    second = await fake_api.tap(alice, formats, csv_button)
    await fake_api.answer(first)
    again = await fake_api.answer(second)
    building = await fake_api.next_event(alice.id)
    assert "Preparing" in building.text
    sent, content = await _document(fake_api, alice)
    assert sent.message["document"]["file_name"].endswith(".csv") and "3 rows" in sent.text
    # Told whichever it found: the file still being built, or already sent.
    assert str(again.get("text")).startswith(("A file is already being prepared", "That file"))
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["Date", "Reseller", "Telegram id", "Kind", "Amount", "Other side",
                       "Comment", "By", "Number"]  # fmt: skip
    async with db.transaction() as session:
        account = await session.scalar(
            select(LedgerAccount.id).join(Reseller).where(Reseller.telegram_id == ALICE)
        )
        alices = list(
            await session.scalars(
                select(Transfer.id).where(Transfer.to_account_id == account).order_by(Transfer.id)
            )
        )
    assert [(r[1], r[2], r[4], r[6]) for r in rows[1:]] == [
        ("Alice", str(ALICE), "100.00", ""),
        ("Alice", str(ALICE), "25.50", "'=SUM(A1:A9)"),
        ("Alice", str(ALICE), "10.00", "bank"),
    ]
    assert [r[8] for r in rows[1:]] == [str(n) for n in alices]
    await asyncio.sleep(0.2)
    assert fake_api.unread(alice.id) == []  # one file only


async def test_a_forged_export_button_for_another_reseller_is_refused(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await _world(db)
    bob = fake_api.user(BOB, "Bob")
    balance = await say(fake_api, bob, "/balance")
    forged = [
        buttons.MENU.build(ALICE),
        buttons.PICK.build(ALICE, Kind.HISTORY),
        buttons.WHEN.build(ALICE, Kind.HISTORY, buttons.ALL_TIME),
        buttons.MAKE.build(ALICE, Kind.HISTORY, buttons.ALL_TIME, Format.CSV),
        buttons.MAKE.build(0, Kind.ACTIONS, buttons.ALL_TIME, Format.XLSX),
        buttons.PICK.build(0, Kind.ACTIONS),
    ]
    for data in forged:
        answer = await fake_api.answer(await fake_api.tap(bob, balance, data))
        assert answer.get("text") == "You may not export that.", data
    stranger = fake_api.user(4242, "Eve")
    await say(fake_api, stranger, "/start")
    answer = await fake_api.answer(await fake_api.tap(stranger, balance, buttons.MENU.build(0)))
    assert answer.get("text") == "You may not export that."
    await asyncio.sleep(0.2)
    assert fake_api.unread(bob.id) == []  # no screen, no file
    assert all(e.method != "sendDocument" for e in fake_api.events(bob.id))


async def test_an_admin_exports_one_resellers_sales_from_its_card(
    bot: BotApplication, db: Database, fake_api: FakeBotAPI
) -> None:
    await _world(db)
    plan = (await plans.add_plan(db, code="m1", name="Month", days=30, price=1_000)).id
    for who, username in ((ALICE, "alice.one"), (BOB, "bob.one"), (BOB, "bob.two")):
        await sales.sell(db, LocalProvider(), telegram_id=who, plan_id=plan, key=key(),
                         now=now(), provider_seconds=5, username=username)  # fmt: skip
    boss = fake_api.user(ADMIN_ID, "Boss")
    menu = await say(fake_api, boss, "/start")
    card = await tap_any(fake_api, boss, menu, admin_callbacks.CARD.build(BOB))
    what = await tap(fake_api, boss, card, card.button("Export"))
    assert "Export: Bob" in what.text
    prompt = await tap(fake_api, boss, what, what.button("Sales"))
    formats = await tap(fake_api, boss, prompt, prompt.button("All time"))
    assert "all time" in formats.text
    await tap(fake_api, boss, formats, formats.button("CSV"))
    sent, content = await _document(fake_api, boss)
    assert sent.message["document"]["file_name"] == f"sales-{BOB}-all.csv"
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert [(r[1], r[2], r[4], r[7], r[8]) for r in rows[1:]] == [
        ("Bob", str(BOB), "bob.one", "10.00", "completed"),
        ("Bob", str(BOB), "bob.two", "10.00", "completed"),
    ]


async def tap_any(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    """A tap on a button the message need not show (the server decides what it may see)."""
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)
