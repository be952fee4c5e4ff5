"""``python -m bot discount``: codes added, listed with their uses and disabled from the
shell through the service the admins' /discounts uses; bad terms refused with one line."""

from __future__ import annotations

from bot.db import Database
from tests.test_cli import run  # noqa: F401 - the fixture


def test_a_code_is_added_listed_and_disabled(run, db: Database) -> None:  # noqa: F811
    assert run("plan", "add", "--code", "vpn-1m", "--name", "VPN", "--days", "30",
               "--price", "10")[0] == 0  # fmt: skip
    code, out, err = run("discount", "add", "--code", "spring", "--percent", "20", "--for",
                         "renewal", "--until", "2099-12-31", "--max-uses", "100",
                         "--max-per-user", "1", "--plan", "vpn-1m")  # fmt: skip
    assert (code, err) == (0, "") and "Added SPRING\t20% off\trenewal\tused 0/100" in out
    code, _, err = run("discount", "add", "--code", "spring", "--stars", "5", "--for", "topup")
    assert code != 0 and "already a code SPRING" in err
    code, _, err = run("discount", "add", "--code", "x1", "--stars", "5", "--for", "topup")
    assert code != 0 and "error:" in err  # too short
    code, _, err = run("discount", "add", "--code", "big", "--percent", "100", "--for", "topup")
    assert code != 0 and "between 1 and 99" in err
    code, out, _ = run("discount", "list")
    assert code == 0 and out.startswith("SPRING\t20% off")
    code, out, _ = run("discount", "disable", "--code", "Spring")
    assert code == 0 and "disabled" in out
    assert run("discount", "uses", "--code", "spring")[0] == 0
