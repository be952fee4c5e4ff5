"""Postpaid resellers in chat: recording cash received from the card (bad answers asked
again, Save once however often tapped), who owes, and a reseller's statement in chat and
as a CSV file; a staff admin without the permission and a reseller are refused, and a
prepaid reseller has no cash button (a forged one records nothing)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import select, update

from bot.context import BotApplication
from bot.db import Database
from bot.services import cash, ledger_postings, roles
from bot.services.roles import Permission
from bot.services.statements import Preset
from handlers.admin import callbacks
from handlers.admin import postpaid_callbacks as buttons
from models import AdminAction, Billing, EntryKind, OutboxMessage, Transfer
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, key, make_reseller, now

STAFF_ID = 950


async def _postpaid(db: Database, telegram_id: int, name: str, limit: int, owes: int) -> None:
    reseller = await make_reseller(
        db, telegram_id, name=name, billing=Billing.POSTPAID, credit_limit=limit
    )
    if owes:
        async with db.transaction() as session:
            await ledger_postings.spend(
                session,
                account_id=reseller.account_id,
                amount=owes,
                kind=EntryKind.ACTIVATION,
                actor="test",
                key=key(),
            )


@pytest.fixture
async def paula(db: Database, fake_api: FakeBotAPI) -> User:
    await _postpaid(db, 1001, "Paula", 10_000, owes=8_000)
    return fake_api.user(1001, "Paula")


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def _refused(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> str:
    answer = await fake_api.answer(await fake_api.tap(user, event, data))
    return str(answer.get("text"))


async def _say(fake_api: FakeBotAPI, user: User, text: str) -> Event:
    await fake_api.send(user, text)
    return await fake_api.next_event(user.id)


async def _menu(fake_api: FakeBotAPI, user: User) -> Event:
    return await _say(fake_api, user, "/start")


async def _cash_rows(db: Database) -> list[Transfer]:
    async with db.transaction() as session:
        return list(
            await session.scalars(select(Transfer).where(Transfer.kind == EntryKind.CASH_RECEIVED))
        )


async def test_an_owner_records_50_cash_received_from_a_postpaid_reseller(
    db: Database, fake_api: FakeBotAPI, paula: User, boss: User
) -> None:
    card = await _tap(fake_api, boss, await _menu(fake_api, boss), callbacks.CARD.build(1001))
    data = [d for _, d in card.buttons]
    assert buttons.CASH.build(1001) in data and buttons.STATEMENT.build(1001) in data
    prompt = await _tap(fake_api, boss, card, buttons.CASH.build(1001))
    assert prompt.message["message_id"] == card.message["message_id"]
    assert "They owe 80.00 credits" in prompt.text
    for bad, problem in (
        ("50.123", "at most two decimals"),
        ("-5", "must be positive"),
        ("0", "greater than zero"),
        ("fifty", "not a number"),
    ):
        again = await _say(fake_api, boss, bad)
        assert problem in again.text and "Send the amount" in again.text
    methods = await _say(fake_api, boss, "50")
    assert buttons.CASH_METHOD.build(1) in [d for _, d in methods.buttons]
    reference = await _tap(fake_api, boss, methods, buttons.CASH_METHOD.build(0))
    assert "reference" in reference.text
    comment = await _say(fake_api, boss, "R-123")
    too_long = await _say(fake_api, boss, "x" * 256)
    assert "256 characters" in too_long.text and "255" in too_long.text
    summary = await _say(fake_api, boss, "Paid <at> the office")
    assert comment.message["message_id"] == summary.message["message_id"]
    assert "Owed: 80.00 credits → <b>30.00 credits</b>" in summary.text
    assert "Paid &lt;at&gt; the office" in summary.text and "R-123" in summary.text
    assert await _cash_rows(db) == []  # nothing moves before Save

    save = next(d for _, d in summary.buttons if d.startswith("adm:cashok:"))
    first = await fake_api.tap(boss, summary, save)
    second = await fake_api.tap(boss, summary, save)  # a double tap
    await fake_api.answer(first)
    assert "already recorded" in str((await fake_api.answer(second)).get("text"))
    saved = await fake_api.next_event(boss.id)
    assert "Recorded 50.00 credits received from Paula" in saved.text
    assert "owe 30.00 credits" in saved.text

    assert [(t.amount, t.comment) for t in await _cash_rows(db)] == [
        (5_000, "Paid <at> the office")
    ]
    async with db.transaction() as session:
        logged = list(
            await session.scalars(select(AdminAction).where(AdminAction.action == "cash_received"))
        )
        told = list(
            await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == 1001))
        )
    assert [a.actor for a in logged] == [f"tg:{ADMIN_ID}"]
    details = json.loads(logged[0].details or "{}")
    assert details["before"]["owed"] == 8_000 and details["after"]["owed"] == 3_000
    assert (details["after"]["method"], details["after"]["reference"]) == ("cash", "R-123")
    assert [m.kind for m in told] == ["cash_received"]
    await assert_audit_ok(db)


async def test_cash_takes_a_typed_method_skips_and_a_stale_save_records_nothing(
    db: Database, fake_api: FakeBotAPI, paula: User, boss: User
) -> None:
    menu = await _menu(fake_api, boss)
    await _tap(fake_api, boss, menu, buttons.CASH.build(1001))
    await _say(fake_api, boss, "100")  # more than owed: they keep the rest as credit
    too_long = await _say(fake_api, boss, "m" * 33)
    assert "33 characters" in too_long.text
    reference = await _say(fake_api, boss, "USDT to the office wallet")
    comment = await _tap(fake_api, boss, reference, buttons.CASH_SKIP.build())
    summary = await _tap(fake_api, boss, comment, buttons.CASH_SKIP.build())
    assert "USDT to the office wallet" in summary.text
    assert "→ <b>0.00 credits</b>" in summary.text and "20.00 credits in credit" in summary.text
    forged = await _refused(fake_api, boss, summary, buttons.CASH_SAVE.build("forged"))
    assert "out of date" in forged
    assert await _cash_rows(db) == []
    save = next(d for _, d in summary.buttons if d.startswith("adm:cashok:"))
    saved = await _tap(fake_api, boss, summary, save)
    assert "owe 0.00 credits" in saved.text
    assert [t.amount for t in await _cash_rows(db)] == [10_000]
    await assert_audit_ok(db)


async def test_a_prepaid_reseller_has_no_cash_button_and_a_forged_one_records_nothing(
    db: Database, fake_api: FakeBotAPI, boss: User
) -> None:
    await make_reseller(db, 1002, name="Pete", credit=1_000)
    card = await _tap(fake_api, boss, await _menu(fake_api, boss), callbacks.CARD.build(1002))
    data = [d for _, d in card.buttons]
    assert buttons.CASH.build(1002) not in data and buttons.STATEMENT.build(1002) in data
    refused = await _refused(fake_api, boss, card, buttons.CASH.build(1002))
    assert "postpaid resellers only" in refused
    await fake_api.send(boss, "50")  # no flow is waiting for an amount
    assert await _cash_rows(db) == []


async def test_staff_without_the_permission_and_resellers_are_refused(
    db: Database, fake_api: FakeBotAPI, paula: User, boss: User
) -> None:
    await roles.add_staff(
        db,
        telegram_id=STAFF_ID,
        name="Sam",
        permissions=[Permission.TOPUPS],
        owner_ids={ADMIN_ID},
        actor=f"tg:{ADMIN_ID}",
        now=now(),
    )
    sam = fake_api.user(STAFF_ID, "Sam")
    menu = await _menu(fake_api, sam)
    for data in (
        buttons.CASH.build(1001),
        buttons.DEBTORS.build(0),
        buttons.STATEMENT.build(1001),
        buttons.STATEMENT_PERIOD.build(1001, Preset.THIS_MONTH),
    ):
        assert "permission" in await _refused(fake_api, sam, menu, data)
    assert "permission" in (await _say(fake_api, sam, "/debtors")).text
    reseller_menu = await _menu(fake_api, paula)
    for data in (buttons.CASH.build(1001), buttons.DEBTORS.build(0)):
        assert "Only admins" in await _refused(fake_api, paula, reseller_menu, data)
    assert "Only admins" in (await _say(fake_api, paula, "/debtors")).text
    assert await _cash_rows(db) == []


async def test_staff_with_reports_see_who_owes_most_first_and_open_a_card(
    db: Database, fake_api: FakeBotAPI, paula: User, boss: User
) -> None:
    await _postpaid(db, 1002, "Bigga", 30_000, owes=20_000)
    await _postpaid(db, 1003, "Clear", 10_000, owes=0)
    await cash.record(
        db, telegram_id=1002, amount=1_000, method="cash", actor="t", key=key(), now=now()
    )
    async with db.transaction() as session:
        await session.execute(
            update(Transfer)
            .where(Transfer.kind == EntryKind.CASH_RECEIVED)
            .values(created_at=now() - dt.timedelta(days=3, hours=1))
        )
    await roles.add_staff(
        db,
        telegram_id=STAFF_ID,
        name="Rita",
        permissions=[Permission.REPORTS],
        owner_ids={ADMIN_ID},
        actor=f"tg:{ADMIN_ID}",
        now=now(),
    )
    rita = fake_api.user(STAFF_ID, "Rita")
    menu = await _menu(fake_api, rita)
    assert buttons.DEBTORS.build(0) in [data for _, data in menu.buttons]
    listing = await _tap(fake_api, rita, menu, buttons.DEBTORS.build(0))
    lines = [line for line in listing.text.splitlines() if line.startswith("• ")]
    assert lines == [
        "• Bigga: owes <b>190.00 credits</b> of 300.00 credits (63%) · last paid 3 days ago",
        "• Paula: owes <b>80.00 credits</b> of 100.00 credits (80%) · never paid",
    ]
    assert "270.00 credits in all" in listing.text
    cards = [d for _, d in listing.buttons if d.startswith("adm:rs:")]
    assert cards == [callbacks.CARD.build(1002), callbacks.CARD.build(1001)]
    by_command = await _say(fake_api, boss, "/debtors")
    assert by_command.text == listing.text
    assert "permission" in await _refused(fake_api, rita, listing, buttons.CASH.build(1001))


async def test_a_statement_in_chat_and_as_a_csv_file(
    db: Database, fake_api: FakeBotAPI, paula: User, boss: User
) -> None:
    await cash.record(
        db,
        telegram_id=1001,
        amount=2_000,
        method="bank",
        actor="t",
        key=key(),
        now=now(),
        comment="=cmd|' /C calc'!A0",
    )
    menu = await _menu(fake_api, boss)
    prompt = await _tap(fake_api, boss, menu, buttons.STATEMENT.build(1001))
    assert "Choose a period" in prompt.text
    today = now().date()
    for bad, problem in (
        ("2026-13-01 2026-13-02", "does not exist"),
        ("last week", "two dates"),
        (f"{today} {today - dt.timedelta(days=1)}", "after the last"),
        (f"{today} {today + dt.timedelta(days=1)}", "after today"),
    ):
        again = await _say(fake_api, boss, bad)
        assert problem in again.text and "Choose a period" in again.text
    shown = await _say(fake_api, boss, f"{today - dt.timedelta(days=3)} {today}")
    assert shown.message["message_id"] == prompt.message["message_id"]
    for line in (
        "Opening balance: 0.00 credits",
        "Sales: -80.00",
        "Cash received: +20.00",
        "Closing balance: <b>-60.00 credits</b>",
        "2 movements.",
    ):
        assert line in shown.text
    document = await fake_api.next_event(boss.id)
    assert document.method == "sendDocument"
    name = document.message["document"]["file_name"]
    assert name == f"statement-1001-{today - dt.timedelta(days=3)}-{today}.csv"
    content = fake_api.file_content(document.message["document"]["file_id"])
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[:3] == [
        ["Reseller", "Paula", "1001"],
        ["Period", str(today - dt.timedelta(days=3)), str(today)],
        ["Opening balance", "0.00"],
    ]
    assert ["Sales", "-80.00"] in rows and ["Cash received", "20.00"] in rows
    assert ["Closing balance", "-60.00"] in rows
    header = rows.index(["Date", "Kind", "Amount", "Balance", "Comment"])
    movements = [row[1:] for row in rows[header + 1 :]]
    assert movements == [
        ["Activation", "-80.00", "-80.00", ""],
        ["Cash received", "20.00", "-60.00", "'=cmd|' /C calc'!A0"],
    ]

    # A period with no movement, from a button, after the flow is over.
    quiet = await _say(fake_api, boss, "/debtors")
    assert "Paula" in quiet.text
    prompt = await _tap(fake_api, boss, quiet, buttons.STATEMENT.build(1001))
    last_month = await _tap(
        fake_api, boss, prompt, buttons.STATEMENT_PERIOD.build(1001, Preset.LAST_MONTH)
    )
    assert "No movements in this period." in last_month.text
    assert "Closing balance: <b>0.00 credits</b>" in last_month.text
    empty = await fake_api.next_event(boss.id)
    rows = list(
        csv.reader(
            io.StringIO(
                fake_api.file_content(empty.message["document"]["file_id"]).decode("utf-8-sig")
            )
        )
    )
    assert rows[-1] == ["Date", "Kind", "Amount", "Balance", "Comment"]
