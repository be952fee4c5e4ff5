"""The operator CLI, in process, on both databases: output, exit codes, nothing half-written."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from bot import cli
from bot.db import Database
from models import CreditGrant, LedgerAccount, Plan, Reseller, Transfer
from tests.conftest import database_from_url


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CURRENCY", "credits")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    # Keep PostgreSQL runs inside the test's private schema.
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))

    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def _on_database(url: str, work):
    """Run ``work(session)`` in its own event loop: the CLI runs its own with asyncio.run."""

    async def _go():
        db = database_from_url(url)
        try:
            async with db.transaction() as session:
                return await work(session)
        finally:
            await db.dispose()

    return asyncio.run(_go())


def _counts(url: str) -> tuple[int, ...]:
    async def _count(session):
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Reseller, LedgerAccount, Transfer, CreditGrant, Plan)
            ]
        )

    return _on_database(url, _count)


def test_operator_journey(run, db: Database) -> None:
    assert run("db", "upgrade")[0] == 0
    code, out, _ = run("reseller", "add", "--telegram-id", "111", "--name", "Alice",
                       "--username", "@alice_shop", "--threshold", "50")  # fmt: skip
    assert code == 0 and "Reseller Alice (111) added: prepaid" in out
    code, out, _ = run("reseller", "add", "--telegram-id", "222", "--name", "Bob",
                       "--postpaid", "--credit-limit", "500")  # fmt: skip
    assert code == 0 and "collection limit 500.00 credits" in out
    code, out, _ = run("plan", "add", "--code", "iptv-1m", "--name", "IPTV 1 month",
                       "--days", "30", "--price", "10,50")  # fmt: skip
    assert code == 0 and "10.50 credits" in out
    code, out, _ = run("credit", "add", "--reseller", "111", "--amount", "۱۰۰٫۵۰",
                       "--type", "purchase", "--comment", "bank transfer",
                       "--expires", "2099-12-31")  # fmt: skip
    assert code == 0 and "Balance 100.50 credits" in out
    code, out, _ = run("credit", "remove", "--reseller", "111", "--amount", "0.50",
                       "--type", "adjustment", "--key", "fix-1")  # fmt: skip
    assert code == 0 and "Balance 100.00 credits" in out
    code, out, _ = run("credit", "remove", "--reseller", "111", "--amount", "0.50",
                       "--type", "adjustment", "--key", "fix-1")  # fmt: skip
    assert code == 0 and "nothing moved" in out and "Balance 100.00 credits" in out
    code, out, _ = run("credit", "cash", "--reseller", "222", "--amount", "20")
    assert code == 0 and "Balance 20.00 credits" in out
    code, out, _ = run("reseller", "list")
    assert "111\tAlice\tprepaid\tactive\tbalance 100.00 credits" in out
    code, out, _ = run("plan", "list")
    assert "iptv-1m\tIPTV 1 month\t30 days\t10.50 credits\tactive" in out
    code, out, _ = run("credit", "expire")
    assert code == 0 and "Expired 0 grants" in out
    code, out, _ = run("audit")
    assert code == 0 and "Ledger audit OK" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("reseller", "add", "--telegram-id", "0", "--name", "X"), "greater than zero"),
        (("reseller", "add", "--telegram-id", "abc", "--name", "X"), "whole number"),
        (("reseller", "add", "--telegram-id", "5", "--name", " "), "name must be"),
        (
            ("reseller", "add", "--telegram-id", "5", "--name", "X", "--credit-limit", "10"),
            "--credit-limit needs --postpaid",
        ),
        (("reseller", "add", "--telegram-id", "5", "--name", "X", "--username", "a b"), "username"),
        (("reseller", "add", "--telegram-id", "111", "--name", "Again"), "already a reseller"),
        (
            ("plan", "add", "--code", "Bad Code", "--name", "X", "--days", "30", "--price", "1"),
            "plan code",
        ),
        (
            ("plan", "add", "--code", "p", "--name", "X", "--days", "0", "--price", "1"),
            "greater than zero",
        ),
        (
            ("plan", "add", "--code", "p", "--name", "X", "--days", "30", "--price", "0"),
            "greater than zero",
        ),
        (
            ("credit", "add", "--reseller", "111", "--amount", "-5", "--type", "purchase"),
            "positive",
        ),
        (
            ("credit", "add", "--reseller", "111", "--amount", "1.999", "--type", "purchase"),
            "two decimals",
        ),
        (
            ("credit", "add", "--reseller", "111", "--amount", "1e9", "--type", "purchase"),
            "not a number",
        ),
        (
            ("credit", "add", "--reseller", "111", "--amount", "99999999999", "--type", "purchase"),
            "too large",
        ),
        (
            ("credit", "add", "--reseller", "111", "--amount", "5", "--type", "gift"),
            "invalid choice",
        ),
        (
            (
                "credit",
                "add",
                "--reseller",
                "111",
                "--amount",
                "5",
                "--type",
                "purchase",
                "--expires",
                "2020-01-01",
            ),
            "today or later",
        ),
        (
            (
                "credit",
                "add",
                "--reseller",
                "111",
                "--amount",
                "5",
                "--type",
                "purchase",
                "--expires",
                "31/12/2099",
            ),
            "yyyy-mm-dd",
        ),
        (
            (
                "credit",
                "add",
                "--reseller",
                "111",
                "--amount",
                "5",
                "--type",
                "purchase",
                "--comment",
                "x" * 256,
            ),
            "255 characters",
        ),
        (
            ("credit", "add", "--reseller", "999", "--amount", "5", "--type", "purchase"),
            "no reseller",
        ),
        (
            ("credit", "remove", "--reseller", "111", "--amount", "10.01", "--type", "adjustment"),
            "not enough credit: 10.01 credits requested, 10.00 credits can be taken",
        ),
        (("credit", "cash", "--reseller", "111", "--amount", "5"), "postpaid resellers only"),
        (
            (
                "credit",
                "add",
                "--reseller",
                "111",
                "--amount",
                "5",
                "--type",
                "purchase",
                "--key",
                "used",
            ),
            "already used",
        ),
        (("nonsense",), "invalid choice"),
    ],
)
def test_bad_input_exits_non_zero_and_writes_nothing(
    run, db: Database, database_url: str, argv: tuple[str, ...], message: str
) -> None:
    assert run("reseller", "add", "--telegram-id", "111", "--name", "Alice")[0] == 0
    assert run("credit", "add", "--reseller", "111", "--amount", "10", "--type", "purchase")[0] == 0
    # "used" is taken by a different movement, so reusing it must be refused.
    assert run("credit", "remove", "--reseller", "111", "--amount", "1", "--type",
               "adjustment", "--key", "used")[0] == 0  # fmt: skip
    assert run("credit", "add", "--reseller", "111", "--amount", "1", "--type", "purchase")[0] == 0
    before = _counts(database_url)
    code, _, err = run(*argv)
    assert code != 0
    assert message in err
    assert "Traceback" not in err
    assert _counts(database_url) == before


def test_audit_exits_non_zero_on_drift(run, db: Database, database_url: str) -> None:
    assert run("reseller", "add", "--telegram-id", "111", "--name", "Alice")[0] == 0
    assert run("credit", "add", "--reseller", "111", "--amount", "10", "--type", "purchase")[0] == 0
    _on_database(
        database_url,
        lambda session: session.execute(
            update(LedgerAccount).where(LedgerAccount.reseller_id.is_not(None)).values(balance=1)
        ),
    )
    code, out, _ = run("audit")
    assert code == 1
    assert "Ledger audit FAILED" in out and "entries sum to 1000" in out


def test_unreachable_database_is_one_clear_line(monkeypatch, capsys) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    assert cli.main(["audit"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error:") and "Traceback" not in err and len(err.splitlines()) == 1
