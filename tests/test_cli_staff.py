"""``python -m bot staff``: adding, listing and removing staff admins from the shell, through
the roles service the chat uses; bad input refused with one line and nothing written."""

from __future__ import annotations

import pytest

from bot.db import Database
from tests.test_cli import run  # noqa: F401 - the fixture


def test_staff_are_added_listed_and_removed(
    run,  # noqa: F811
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ADMIN_IDS", "900")
    code, out, err = run("staff", "add", "700", "--name", "Sam", "--permissions", "topups,credits")
    assert (code, err) == (0, "")
    assert "Staff admin Sam (700) added, may: topups,credits." in out
    assert run("staff", "add", "701", "--name", "Kim")[0] == 0  # no permissions yet

    code, out, _ = run("staff", "list")
    lines = [line.split("\t") for line in out.splitlines()]
    assert [line[:3] for line in lines] == [
        ["700", "Sam", "topups,credits"],
        ["701", "Kim", "none"],
    ]
    assert all(line[3].endswith("by cli") for line in lines)

    code, out, err = run("staff", "remove", "700")
    assert (code, err) == (0, "") and "700 is no longer a staff admin" in out
    code, out, _ = run("staff", "list")
    assert [line.split("\t")[0] for line in out.splitlines()] == ["701"]

    code, out, _ = run("log", "--action", "staff_added")
    assert len(out.splitlines()) == 2 and all("\tcli\t" in line for line in out.splitlines())


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("staff", "add", "700", "--name", "Sam", "--permissions", "topups,root"),
         "unknown permission 'root'"),
        (("staff", "add", "0", "--name", "Sam"), "greater than zero"),
        (("staff", "add", "900", "--name", "Boss"), "900 is an owner"),
        (("staff", "remove", "700"), "700 is not staff"),
        (("staff", "add", "700"), "--name"),
    ],
)  # fmt: skip
def test_bad_staff_commands_are_refused_with_one_line_and_write_nothing(
    run,  # noqa: F811
    db: Database,
    monkeypatch: pytest.MonkeyPatch,
    argv: tuple[str, ...],
    said: str,
) -> None:
    monkeypatch.setenv("ADMIN_IDS", "900")
    code, out, err = run(*argv)
    assert code != 0 and out == "" and said in err
    assert run("staff", "list")[1] == "No staff admins yet.\n"


def test_adding_someone_already_staff_is_refused(run, db: Database) -> None:  # noqa: F811
    assert run("staff", "add", "700", "--name", "Sam", "--permissions", "reports")[0] == 0
    code, _, err = run("staff", "add", "700", "--name", "Sam", "--permissions", "topups")
    assert code == 1 and err == "error: 700 is already staff\n"
    assert "\treports\t" in run("staff", "list")[1]
