"""The operator CLI, in process, on both databases: output, exit codes, nothing half-written."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select, update

from bot import cli
from bot.db import Database
from bot.services import topup_decisions, topup_reads
from models import (
    AdminAction,
    CreditGrant,
    LedgerAccount,
    OutboxMessage,
    PaymentMethod,
    Plan,
    PriceTier,
    Reseller,
    ResellerStatus,
    Transfer,
)
from tests.conftest import database_from_url

IN_FIVE_YEARS = (dt.date.today() + dt.timedelta(days=5 * 365)).isoformat()


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
                for model in (
                    Reseller,
                    LedgerAccount,
                    Transfer,
                    CreditGrant,
                    Plan,
                    AdminAction,
                    OutboxMessage,
                    PriceTier,
                    PaymentMethod,
                )
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
                       "--expires", IN_FIVE_YEARS)  # fmt: skip
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
        # Range checks: out-of-range values end as one line, never a traceback.
        (
            ("reseller", "add", "--telegram-id", "99999999999999999999", "--name", "X"),
            "a Telegram id is at most",
        ),
        (("reseller", "add", "--telegram-id", "5", "--name", "x" * 101), "name must be"),
        (("reseller", "add", "--telegram-id", "5", "--name", "X", "--threshold", "abc"), "number"),
        (
            (
                "reseller",
                "add",
                "--telegram-id",
                "5",
                "--name",
                "X",
                "--postpaid",
                "--credit-limit",
                "99999999999",
            ),
            "too large",
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
                "9999-12-31",
            ),
            "must be on or before",
        ),
        (
            (
                "credit",
                "add",
                "--reseller",
                "99999999999999999999",
                "--amount",
                "5",
                "--type",
                "purchase",
            ),
            "a Telegram id is at most",
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
                "--key",
                "",
            ),
            "a key is 1 to 100 characters",
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
                "--key",
                "k" * 101,
            ),
            "a key is 1 to 100 characters",
        ),
        (
            (
                "credit",
                "remove",
                "--reseller",
                "111",
                "--amount",
                "2",
                "--type",
                "adjustment",
                "--key",
                "used",
            ),
            "already used with other values",
        ),
        (
            (
                "credit",
                "remove",
                "--reseller",
                "111",
                "--amount",
                "1",
                "--type",
                "purchase",
                "--key",
                "used",
            ),
            "already used with other values",
        ),
        (("credit", "cash", "--reseller", "111", "--amount", "0"), "greater than zero"),
        (("credit", "cash", "--reseller", "111", "--amount", "ten"), "not a number"),
        (
            ("plan", "add", "--code", "p", "--name", "X", "--days", "100000", "--price", "1"),
            "a plan is at most 3650",
        ),
        (
            ("plan", "add", "--code", "p", "--name", "X", "--days", "30", "--price", "1.001"),
            "two decimals",
        ),
        (("reseller", "suspend", "--telegram-id", "999"), "no reseller"),
        (("reseller", "activate", "--telegram-id", "111"), "already active"),
        (
            ("reseller", "suspend", "--telegram-id", "111", "--reason", "r" * 256),
            "at most 255 characters (256 given)",
        ),
        (("price-tier", "add", "--min-credits", "-1", "--unit-price", "1"), "positive"),
        (("price-tier", "add", "--min-credits", "0", "--unit-price", "0"), "greater than zero"),
        (("price-tier", "remove", "--min-credits", "7"), "no tier"),
        (("payment-method", "disable", "--code", "nope"), "no payment method"),
        (
            (
                "payment-method",
                "add",
                "--code",
                "b",
                "--name",
                "B",
                "--instructions",
                "x",
                "--min-total",
                "1.999",
            ),
            "two decimals",
        ),
        (
            ("payment-method", "add", "--code", "Bad!code", "--name", "B", "--instructions", "x"),
            "method code",
        ),
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
    status = _on_database(
        database_url,
        lambda session: session.scalar(select(Reseller.status).where(Reseller.telegram_id == 111)),
    )
    assert status == ResellerStatus.ACTIVE


def test_operator_keys_cannot_block_the_bots_own_keys(run, db: Database, database_url) -> None:
    """An operator key that looks like the bot's own ("topup:1", "grant:1:expiry") is
    kept apart: the top-up and the expiry it names still happen."""
    from bot.services import alerts, pricing, topups
    from models import ProofKind, TopUpStatus
    from tests.helpers import now, setup_topups

    assert run("reseller", "add", "--telegram-id", "111", "--name", "Alice")[0] == 0
    for k in ("topup:1", "grant:1:expiry", "grant:2:expiry", "hold:1:post"):
        assert run("credit", "add", "--reseller", "111", "--amount", "1", "--type",
                   "purchase", "--key", k, "--expires", IN_FIVE_YEARS)[0] == 0  # fmt: skip

    async def _top_up_and_expire() -> tuple[str, int]:
        db2 = database_from_url(database_url)
        try:
            await setup_topups(db2)
            method = next(m for m in await pricing.list_methods(db2) if m.code == "bank")
            request, _ = await topups.create_request(
                db2,
                telegram_id=111,
                credits=1_000,
                method_id=method.id,
                proof=topup_reads.Proof(ProofKind.REFERENCE, reference="TX-1"),
                key="req-1",
                limits=topups.Limits(
                    min_credits=100, max_credits=1_000_000, max_pending=3, currency="USD"
                ),
            )
            assert request.id == 1  # the id the operator's "topup:1" key looks like
            decided = await topup_decisions.approve(
                db2, request_id=request.id, admin_id=9, admin_name="Admin", now=now()
            )
            later = dt.datetime.combine(
                dt.date.fromisoformat(IN_FIVE_YEARS) + dt.timedelta(days=3), dt.time(), dt.UTC
            )
            expired = await alerts.expire_grants(db2, later)
            return decided.request.status, sum(e.amount for e in expired)
        finally:
            await db2.dispose()

    status, expired = asyncio.run(_top_up_and_expire())
    assert status == TopUpStatus.APPROVED
    assert expired == 400  # the four operator grants, each 1.00
    code, out, _ = run("audit")
    assert code == 0, out


def test_suspend_and_activate_are_logged_and_the_reseller_is_told(
    run, db: Database, database_url: str
) -> None:
    assert run("reseller", "add", "--telegram-id", "111", "--name", "Alice")[0] == 0
    code, out, _ = run("reseller", "suspend", "--telegram-id", "111", "--reason", "unpaid bills")
    assert code == 0 and "is suspended" in out
    assert "suspended" in run("reseller", "list")[1]
    code, out, _ = run("reseller", "activate", "--telegram-id", "111")
    assert code == 0 and "active again" in out

    async def _rows(session):
        actions = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.reason).order_by(
                    AdminAction.id
                )
            )
        ).all()
        notices = list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))
        return [tuple(a) for a in actions], notices

    actions, notices = _on_database(database_url, _rows)
    assert actions == [
        ("cli", "reseller_registered", None),
        ("cli", "reseller_suspended", "unpaid bills"),
        ("cli", "reseller_activated", None),
    ]
    assert notices == ["reseller_suspended", "reseller_activated"]


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
