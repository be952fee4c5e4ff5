"""``python -m bot log``: one line per action, newest first, through the same filters as
the chat's screen; bad filters are refused with one line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot import cli
from bot.db import Database
from tests.conftest import database_from_url

Shell = Callable[..., tuple[int, str, str]]

LINE_FIELDS = 5  # when, who, what, on whom, values (then the reason, if any)


@pytest.fixture
def shell(
    db: Database,  # each test starts on an empty database
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Shell:
    """``python -m bot ARGS`` in process: (exit code, stdout, stderr)."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CURRENCY", "credits")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))

    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse's refusals
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def logged(shell: Shell) -> None:
    assert shell("reseller", "add", "--telegram-id", "111", "--name", "Alice", "--postpaid",
               "--credit-limit", "100")[0] == 0  # fmt: skip
    assert shell("reseller", "add", "--telegram-id", "222", "--name", "Bob")[0] == 0
    assert shell("credit", "add", "--reseller", "111", "--amount", "100.50", "--type", "purchase",
               "--comment", "first order")[0] == 0  # fmt: skip
    assert shell("credit", "remove", "--reseller", "111", "--amount", "20", "--type",
               "adjustment")[0] == 0  # fmt: skip
    assert shell("credit", "cash", "--reseller", "111", "--amount", "50")[0] == 0
    assert shell("reseller", "suspend", "--telegram-id", "222", "--reason", "unpaid")[0] == 0


def test_log_prints_every_action_newest_first_with_its_values(shell: Shell, logged: None) -> None:
    code, out, err = shell("log")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert [line.split("\t")[2] for line in lines] == [
        "reseller_suspended", "cash_received", "credit_removed", "credit_added",
        "reseller_registered", "reseller_registered",
    ]  # fmt: skip
    assert all(len(line.split("\t")) >= LINE_FIELDS for line in lines)
    suspended, cash, removed, added = (line.split("\t") for line in lines[:4])
    assert (
        suspended[1] == "cli" and suspended[3].startswith("Bob (#") and suspended[5] == '"unpaid"'
    )
    assert added[3].startswith("Alice (#")
    assert added[4] == "balance=0.00->100.50 amount=100.50 tx_type=purchase"
    assert added[5] == '"first order"'
    assert removed[4] == "balance=100.50->80.50 amount=20.00 tx_type=adjustment"
    assert cash[4] == "balance=80.50->130.50 amount=50.00"


def test_log_filters_by_reseller_actor_kind_dates_and_limit(shell: Shell, logged: None) -> None:
    def kinds(*argv: str) -> list[str]:
        code, out, err = shell("log", *argv)
        assert code == 0, err
        return [line.split("\t")[2] for line in out.splitlines() if "\t" in line]

    assert kinds("--reseller", "222") == ["reseller_suspended", "reseller_registered"]
    assert kinds("--action", "credit_added") == ["credit_added"]
    assert len(kinds("--actor", "cli")) == 6
    assert kinds("--actor", "900") == []
    assert kinds("--limit", "2") == ["reseller_suspended", "cash_received"]
    assert len(kinds("--since", "2020-01-01")) == 6
    assert kinds("--until", "2020-01-01") == []
    _, out, _ = shell("log", "--until", "2020-01-01")
    assert out == "No actions logged that match.\n"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("--since", "2026-13-01"), "yyyy-mm-dd"),
        (("--since", "yesterday"), "yyyy-mm-dd"),
        (("--limit", "0"), "greater than zero"),
        (("--limit", "ten"), "whole number"),
        (("--reseller", "999"), "no reseller with Telegram id 999"),
        (("--since", "2026-02-02", "--until", "2026-02-01"), "--until is before --since"),
    ],
)
def test_bad_filters_are_refused_in_one_line(
    shell: Shell, argv: tuple[str, ...], says: str
) -> None:
    code, out, err = shell("log", *argv)
    assert code != 0 and out == "" and says in err
    assert "error:" in err.strip().splitlines()[-1]  # after argparse's usage, if any


def test_an_empty_log_says_so(shell: Shell) -> None:
    assert shell("log") == (0, "No actions logged yet.\n", "")
