"""``python -m bot self-pay``: an admin turns a reseller's self-service renewals on and
prices a plan in Stars from the shell, through the service the reseller's /selfpay uses;
a price below the reseller's cost is refused with one ``error:`` line."""

from __future__ import annotations

from bot.db import Database
from tests.test_cli import run  # noqa: F401 - the fixture


def test_an_admin_turns_self_pay_on_and_prices_a_plan(
    run,  # noqa: F811
    db: Database,
) -> None:
    for argv in (
        ("plan", "add", "--code", "iptv-1m", "--name", "IPTV 1 month", "--days", "30",
         "--price", "10"),
        ("reseller", "add", "--telegram-id", "1001", "--name", "Alice"),
        ("payment-method", "stars", "--code", "stars", "--name", "Telegram Stars",
         "--credits-per-star", "2"),
    ):  # fmt: skip
        assert run(*argv)[0] == 0
    code, out, err = run("self-pay", "on", "--reseller", "1001")
    assert (code, err) == (0, "") and "Self-service renewals on; 1 Star = 2.00 credits." in out
    code, out, err = run("self-pay", "price", "--reseller", "1001", "--plan", "iptv-1m",
                         "--stars", "4")  # fmt: skip
    assert code != 0 and "error:" in err and "Below your cost" in err
    code, out, err = run("self-pay", "price", "--reseller", "1001", "--plan", "IPTV-1M",
                         "--stars", "8")  # fmt: skip
    assert (code, err) == (0, "")
    assert "IPTV 1 month\tcost 10.00 credits\t8 Stars = 16.00 credits, margin 6.00" in out
    code, out, _ = run("self-pay", "show", "--reseller", "1001")
    assert code == 0 and "8 Stars" in out
    code, _, err = run("self-pay", "price", "--reseller", "1001", "--plan", "iptv-1m",
                       "--stars", "1.5")  # fmt: skip
    assert code != 0 and "whole number of Stars" in err
