"""Exports as services and files: every kind written as CSV and as XLSX, read back with
csv and openpyxl and compared with the database row for row; the period and reseller
filters; a reseller sees its own and its subtree's rows only, never another's nor the
action log; text that looks like a formula stays text; amounts are numbers with two
decimals and dates are in the reader's zone."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import select, update

from bot import cli, i18n
from bot.adapters import exports as files
from bot.adapters.exports import Format, Money, Row, safe_text
from bot.db import Database
from bot.services import (
    allocation,
    downline,
    exports,
    plans,
    pricing,
    sales,
    topup_decisions,
    topups,
    wallet,
)
from bot.services.credits import Action
from bot.services.exports import ExportError, Kind, Scope
from bot.services.provisioning import LocalProvider
from bot.services.statements import Period
from bot.services.topup_reads import Proof
from bot.services.topups import Limits
from handlers.admin import action_log_views as action_views
from handlers.exports import views
from models import (
    AdminAction,
    Customer,
    LedgerAccount,
    ProofKind,
    Reseller,
    SubscriptionOrder,
    TopUpRequest,
    Transfer,
    TxType,
)
from tests.conftest import ADMIN_ID, database_from_url
from tests.helpers import key, make_reseller, now, setup_topups

ALPHA, BRAVO, ECHO = 2001, 2002, 2005
ZONE = ZoneInfo("Asia/Tehran")
UTC = ZoneInfo("UTC")
LIMITS = Limits(min_credits=1_000, max_credits=10_000_000, max_pending=3, currency="USD")
FORMULA = '=HYPERLINK("http://x","y")'


async def _world(db: Database) -> None:
    """Alpha (with sub-reseller Bravo) and Echo, each with credits, sales and top-ups."""
    await make_reseller(db, ALPHA, name="Alpha", credit=10_000)
    await make_reseller(db, ECHO, name="Echo")
    await wallet.add_credit(db, telegram_id=ECHO, amount=5_050, tx_type=TxType.PURCHASE,
                            actor="test", key=key(), now=now(), comment=FORMULA)  # fmt: skip
    await downline.set_depth(db, telegram_id=ALPHA, depth=1, actor="tg:1", now=now())
    await downline.register_child(db, parent_telegram_id=ALPHA, telegram_id=BRAVO, name="Bravo",
                                  username=None, low_balance_threshold=0, now=now())  # fmt: skip
    await allocation.save(db, parent_telegram_id=ALPHA, child_telegram_id=BRAVO,
                          action=Action.ADD, amount=3_000, tx_type=TxType.PURCHASE,
                          nonce="n1", now=now())  # fmt: skip
    plan = (await plans.add_plan(db, code="m1", name="Month", days=30, price=1_000)).id
    for who, username in ((ALPHA, "alpha.one"), (BRAVO, "bravo.one"), (ECHO, "echo.one")):
        await sales.sell(db, LocalProvider(), telegram_id=who, plan_id=plan, key=key(),
                         now=now(), provider_seconds=5, username=username)  # fmt: skip
    await setup_topups(db)
    method = next(m.id for m in await pricing.list_methods(db) if m.code == "bank")
    for who in (ALPHA, ECHO):
        request, _ = await topups.create_request(
            db, telegram_id=who, credits=2_000, method_id=method,
            proof=Proof(ProofKind.REFERENCE, reference=f"-TX{who}"), key=key(), limits=LIMITS,
        )  # fmt: skip
    await topup_decisions.approve(db, request_id=request.id, admin_id=ADMIN_ID, admin_name="Boss",
                         now=now())  # fmt: skip


async def _scope(db: Database, kind: Kind, asker: int | None, reseller: int | None = None) -> Scope:
    return await exports.scope(db, kind, asker=asker, owner_ids=(ADMIN_ID,), reseller=reseller)


async def _write(
    db: Database, path: Path, kind: Kind, fmt: Format, where: Scope, period: Period | None = None,
    zone: ZoneInfo = UTC, batch: int = exports.BATCH,
) -> int:  # fmt: skip
    t = i18n.SOURCE

    async def batches() -> AsyncIterator[Sequence[Row]]:
        async for found in exports.rows(db, kind, where, period, zone, batch=batch):
            assert 0 < len(found) <= 2 * batch  # a movement between two in scope is two rows
            yield [views.cells(row, t) for row in found]

    return await files.write(path, fmt, views.header(kind, t), batches(), zone)


def _text(cell: Any) -> str:
    """An XLSX cell written as the CSV writes it: an amount must carry the 0.00 format."""
    value = cell.value
    if value is None:
        return ""
    if cell.number_format == files.MONEY_FORMAT:
        assert isinstance(value, int | float)
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        assert cell.number_format == files.MOMENT_FORMAT
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _read(path: Path, fmt: Format) -> list[dict[str, str]]:
    """The file's rows as {header: cell as text}."""
    if fmt == Format.CSV:
        with path.open(encoding="utf-8-sig", newline="") as file:
            rows = list(csv.reader(file))
    else:
        book = openpyxl.load_workbook(path, read_only=True)
        sheet = book.active
        assert isinstance(sheet, ReadOnlyWorksheet)
        rows = [[_text(cell) for cell in row] for row in sheet.iter_rows()]
        book.close()
    header, *body = rows
    return [dict(zip(header, row, strict=True)) for row in body]


async def _expected(db: Database, kind: Kind, ids: set[int] | None = None) -> list[tuple[str, ...]]:
    """(number, Telegram id, amount or name) of every row ``kind`` should hold, from the
    database directly."""
    async with db.transaction() as session:
        tg = {r.id: r.telegram_id for r in await session.scalars(select(Reseller))}
        owner = {a.id: a.reseller_id for a in await session.scalars(select(LedgerAccount))}
        if kind == Kind.HISTORY:
            found: list[tuple[str, ...]] = []
            for move in await session.scalars(select(Transfer).order_by(Transfer.id)):
                for account, sign in ((move.from_account_id, -1), (move.to_account_id, 1)):
                    who = owner[account]
                    if who is not None and (ids is None or who in ids):
                        found.append(
                            (str(move.id), str(tg[who]), f"{sign * move.amount / 100:.2f}")
                        )
            return found
        if kind == Kind.CUSTOMERS:
            rows: Any = await session.scalars(select(Customer).order_by(Customer.id))
            return [(str(c.id), str(tg[c.reseller_id]), c.username) for c in rows
                    if ids is None or c.reseller_id in ids]  # fmt: skip
        if kind == Kind.TOPUPS:
            rows = await session.scalars(select(TopUpRequest).order_by(TopUpRequest.id))
            return [(str(q.id), str(tg[q.reseller_id]), f"{q.total_price / 100:.2f}") for q in rows
                    if ids is None or q.reseller_id in ids]  # fmt: skip
        if kind == Kind.SALES:
            rows = await session.scalars(select(SubscriptionOrder).order_by(SubscriptionOrder.id))
            return [(str(o.id), str(tg[o.reseller_id]), f"{o.price / 100:.2f}") for o in rows
                    if ids is None or o.reseller_id in ids]  # fmt: skip
        rows = await session.scalars(select(AdminAction).order_by(AdminAction.id))
        return [(str(a.id), a.actor, a.action) for a in rows]


def _got(kind: Kind, rows: list[dict[str, str]]) -> list[tuple[str, ...]]:
    if kind == Kind.HISTORY:
        return [(r["Number"], r["Telegram id"], r["Amount"]) for r in rows]
    if kind == Kind.CUSTOMERS:
        return [(r["Number"], r["Telegram id"], r["Username"]) for r in rows]
    if kind == Kind.TOPUPS:
        return [(r["Number"], r["Telegram id"], r["Total"]) for r in rows]
    if kind == Kind.SALES:
        return [(r["Number"], r["Telegram id"], r["Price"]) for r in rows]
    return [(r["Number"], r["By"].split(" ")[-1].strip("()"), r["Action"]) for r in rows]


@pytest.mark.parametrize("kind", list(Kind))
async def test_every_export_read_back_as_csv_and_xlsx_matches_the_database_row_for_row(
    db: Database, tmp_path: Path, kind: Kind
) -> None:
    await _world(db)
    where = await _scope(db, kind, ADMIN_ID)
    expected = await _expected(db, kind)
    assert len(expected) >= 2
    by_format = {}
    for fmt in Format:
        path = tmp_path / f"out.{fmt.value}"
        count = await _write(db, path, kind, fmt, where, batch=1)
        by_format[fmt] = _read(path, fmt)
        assert count == len(by_format[fmt])
        got = _got(kind, by_format[fmt])
        if kind == Kind.ACTIONS:  # the action's name is in the reader's words
            names = [action_views.kind_name(a, i18n.SOURCE) for *_, a in expected]
            assert got == [
                (n, who, name) for (n, who, _), name in zip(expected, names, strict=True)
            ]
        else:
            assert got == expected
    assert by_format[Format.CSV] == by_format[Format.XLSX]


async def test_the_period_keeps_only_rows_made_within_it(db: Database, tmp_path: Path) -> None:
    await _world(db)
    old = now() - dt.timedelta(days=40)
    async with db.transaction() as session:
        first = await session.scalar(select(Transfer.id).order_by(Transfer.id).limit(1))
        await session.execute(update(Transfer).where(Transfer.id == first).values(created_at=old))
        await session.execute(update(Customer).where(Customer.username == "echo.one")
                              .values(created_at=old))  # fmt: skip
    where = await _scope(db, Kind.HISTORY, ADMIN_ID)
    today = now().astimezone(ZONE).date()
    recent = Period(today - dt.timedelta(days=29), today)
    path = tmp_path / "h.csv"
    await _write(db, path, Kind.HISTORY, Format.CSV, where, recent, ZONE)
    numbers = {r["Number"] for r in _read(path, Format.CSV)}
    assert (
        str(first) not in numbers
        and len(numbers) == len({n for n, *_ in await _expected(db, Kind.HISTORY)}) - 1
    )
    back_then = Period(old.astimezone(ZONE).date(), old.astimezone(ZONE).date())
    await _write(db, path, Kind.HISTORY, Format.CSV, where, back_then, ZONE)
    assert {r["Number"] for r in _read(path, Format.CSV)} == {str(first)}
    customers = await _scope(db, Kind.CUSTOMERS, ADMIN_ID)
    await _write(db, path, Kind.CUSTOMERS, Format.CSV, customers, recent, ZONE)
    assert [r["Username"] for r in _read(path, Format.CSV)] == ["alpha.one", "bravo.one"]


async def test_an_admin_exports_one_reseller_or_everyone(db: Database, tmp_path: Path) -> None:
    await _world(db)
    echo = await _scope(db, Kind.SALES, ADMIN_ID, reseller=ECHO)
    assert echo.admin and echo.reseller is not None and echo.reseller.telegram_id == ECHO
    path = tmp_path / "s.xlsx"
    await _write(db, path, Kind.SALES, Format.XLSX, echo)
    assert [(r["Username"], r["Reseller"]) for r in _read(path, Format.XLSX)] == [
        ("echo.one", "Echo")
    ]
    everyone = await _scope(db, Kind.SALES, None)  # the operator's shell
    await _write(db, path, Kind.SALES, Format.XLSX, everyone)
    assert len(_read(path, Format.XLSX)) == 3
    with pytest.raises(ExportError) as unknown:
        await _scope(db, Kind.SALES, ADMIN_ID, reseller=999)
    assert unknown.value.code == "no_reseller"


async def test_a_reseller_exports_its_own_and_its_subtrees_rows_and_nobody_elses(
    db: Database, tmp_path: Path
) -> None:
    await _world(db)
    async with db.transaction() as session:
        ids = {r.telegram_id: r.id for r in await session.scalars(select(Reseller))}
    alpha = await _scope(db, Kind.HISTORY, ALPHA)
    assert not alpha.admin and alpha.reseller_ids == frozenset({ids[ALPHA], ids[BRAVO]})
    path = tmp_path / "h.csv"
    await _write(db, path, Kind.HISTORY, Format.CSV, alpha)
    rows = _read(path, Format.CSV)
    assert _got(Kind.HISTORY, rows) == await _expected(db, Kind.HISTORY, {ids[ALPHA], ids[BRAVO]})
    assert {r["Telegram id"] for r in rows} == {str(ALPHA), str(BRAVO)}
    bravo = await _scope(db, Kind.CUSTOMERS, ALPHA, reseller=BRAVO)  # its sub-reseller
    await _write(db, path, Kind.CUSTOMERS, Format.CSV, bravo)
    assert [r["Username"] for r in _read(path, Format.CSV)] == ["bravo.one"]
    mine = await _scope(db, Kind.TOPUPS, ECHO)
    await _write(db, path, Kind.TOPUPS, Format.CSV, mine)
    assert {r["Telegram id"] for r in _read(path, Format.CSV)} == {str(ECHO)}
    for asker, other, kind in (
        (ECHO, ALPHA, Kind.HISTORY),  # another reseller
        (BRAVO, ALPHA, Kind.SALES),  # its own parent
        (ALPHA, ECHO, Kind.CUSTOMERS),
        (ALPHA, 999, Kind.CUSTOMERS),  # nobody: told the same
        (ALPHA, None, Kind.ACTIONS),  # the action log is the admins'
        (4242, None, Kind.HISTORY),  # not a reseller at all
    ):
        with pytest.raises(ExportError) as refused:
            await _scope(db, kind, asker, reseller=other)
        assert refused.value.code == "not_allowed"
    with pytest.raises(ExportError):
        exports.actions(db, alpha, None, UTC)


async def test_formula_looking_text_stays_text_and_amounts_and_dates_are_values(
    tmp_path: Path,
) -> None:
    moment = dt.datetime(2026, 3, 20, 21, 0, tzinfo=dt.UTC)  # 00:30 on the 21st in Tehran
    tricky = ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "plain"]

    async def batches() -> AsyncIterator[Sequence[Row]]:
        yield [[moment, Money(-1_050), text, 7, None] for text in tricky]

    header: Row = ["=When", "Amount", "Text", "Number", "Empty"]
    csv_path, xlsx_path = tmp_path / "f.csv", tmp_path / "f.xlsx"
    for path, fmt in ((csv_path, Format.CSV), (xlsx_path, Format.XLSX)):

        async def again() -> AsyncIterator[Sequence[Row]]:
            async for batch in batches():
                yield batch

        assert await files.write(path, fmt, header, again(), ZONE) == len(tricky)
    with csv_path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0][0] == "'=When"
    assert [row[2] for row in rows[1:]] == ["'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "plain"]
    assert rows[1][:2] == ["2026-03-21 00:30", "-10.50"] and rows[1][3:] == ["7", ""]
    book = openpyxl.load_workbook(xlsx_path)
    sheet = book.active
    assert isinstance(sheet, Worksheet)
    assert sheet["A1"].value == "'=When"
    assert [sheet.cell(row=i, column=3).value for i in range(2, 8)] == [
        safe_text(t) for t in tricky
    ]
    assert all(sheet.cell(row=i, column=3).data_type == "s" for i in range(2, 8))
    assert sheet["A2"].value == dt.datetime(2026, 3, 21, 0, 30)
    assert sheet["A2"].number_format == files.MOMENT_FORMAT
    assert sheet["B2"].value == -10.5 and sheet["B2"].number_format == "0.00"
    assert sheet["D2"].value == 7 and sheet["E2"].value is None
    # The statement's CSV follows the same rule, from the same place.
    from handlers.admin import statement_views

    assert statement_views.safe_text is safe_text  # type: ignore[attr-defined]


async def test_the_shell_writes_an_export_to_a_file_and_refuses_bad_arguments(
    db: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await _world(db)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))
    output = tmp_path / "log.xlsx"
    args = ["export", "actions", "--format", "xlsx", "--output", str(output)]
    assert await asyncio.to_thread(cli.main, args) == 0
    expected = [n for n, *_ in await _expected(db, Kind.ACTIONS)]
    assert capsys.readouterr().out == f"{len(expected)} rows written to {output}\n"
    assert [r["Number"] for r in _read(output, Format.XLSX)] == expected
    sales_file = tmp_path / "sales.csv"
    args = ["export", "sales", "--reseller", str(ECHO), "--output", str(sales_file)]
    assert await asyncio.to_thread(cli.main, args) == 0
    assert [r["Username"] for r in _read(sales_file, Format.CSV)] == ["echo.one"]
    for bad, says in (
        (["--reseller", "999"], "no reseller with Telegram id 999"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], "the first day is after the last"),
    ):
        refused = tmp_path / "refused.csv"
        args = ["export", "history", *bad, "--output", str(refused)]
        assert await asyncio.to_thread(cli.main, args) == 1
        assert capsys.readouterr().err == f"error: {says}\n"
        assert not refused.exists()
