"""``python -m bot pricelist``: adding, pricing, showing and assigning the business's price
lists from the shell, through the service the chat uses; bad input refused with one
``error:`` line and nothing written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from models import AdminAction, PriceList, PriceListEntry, Reseller
from tests.test_cli import (
    _on_database,
    run,  # noqa: F401 - the fixture
)


def _setup(run) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for argv in (
        ("plan", "add", "--code", "iptv-1m", "--name", "IPTV 1 month", "--days", "30",
         "--price", "10"),
        ("plan", "add", "--code", "iptv-1y", "--name", "IPTV 1 year", "--days", "365",
         "--price", "99.99"),
        ("reseller", "add", "--telegram-id", "1001", "--name", "Alice"),
    ):  # fmt: skip
        assert run(*argv)[0] == 0


def _counts(url: str) -> tuple[int, int, int, int]:
    async def _read(session: AsyncSession) -> tuple[int, int, int, int]:
        on_lists = await session.scalar(
            select(func.count()).where(Reseller.price_list_id.is_not(None))
        )
        return (
            await session.scalar(select(func.count()).select_from(PriceList)) or 0,
            await session.scalar(select(func.count()).select_from(PriceListEntry)) or 0,
            on_lists or 0,
            await session.scalar(select(func.count()).select_from(AdminAction)) or 0,
        )

    return _on_database(url, _read)  # type: ignore[no-any-return]


def test_a_list_is_added_priced_shown_and_assigned(
    run,  # noqa: F811
    db: Database,  # a fresh database (the PostgreSQL half empties its schema)
    database_url: str,
) -> None:
    _setup(run)
    code, out, err = run("pricelist", "add", "Gold -10%", "--percent-off", "10")
    assert (code, err) == (0, "") and "Price list Gold -10% added: 10.00% off" in out
    code, out, err = run("pricelist", "set", "gold -10%", "iptv-1m", "8.50")
    assert (code, err) == (0, "")
    assert out.strip() == "iptv-1m on Gold -10%: 8.50 credits (base 10.00 credits)."
    assert run("pricelist", "set", "Gold -10%", "iptv-1y", "12.5%")[0] == 0
    code, out, err = run("pricelist", "assign", "Gold -10%", "--telegram-id", "1001")
    assert (code, err) == (0, "") and "Alice (1001) now pays the prices of Gold -10%." in out

    code, out, _ = run("pricelist", "show", "Gold -10%")
    lines = out.splitlines()
    assert "1 reseller(s) on it" in lines[0]
    assert [line.split("\t") for line in lines[1:]] == [
        ["iptv-1m", "IPTV 1 month", "base 10.00 credits", "8.50 credits", "fixed"],
        ["iptv-1y", "IPTV 1 year", "base 99.99 credits", "87.49 credits", "12.50% off"],
    ]
    code, out, _ = run("pricelist", "list")
    assert out.splitlines() == ["Gold -10%\t10.00% off\t1 reseller(s)"]

    code, out, err = run("pricelist", "remove", "Gold -10%")
    assert code == 1 and out == "" and "1 reseller(s) are on Gold -10%" in err
    code, out, err = run("pricelist", "assign", "--telegram-id", "1001", "--base")
    assert (code, err) == (0, "") and "now pays the base prices" in out
    assert run("pricelist", "clear", "Gold -10%", "iptv-1m")[0] == 0
    assert run("pricelist", "remove", "Gold -10%")[0] == 0
    assert _counts(database_url) == (0, 0, 0, 3 + 7)  # the plans and Alice, then 7 changes

    code, out, _ = run("log", "--action", "price_list_assigned")
    assert len(out.splitlines()) == 2 and all("\tcli\t" in line for line in out.splitlines())


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (("pricelist", "add", "Gold", "--percent-off", "100"), "up to (not including) 100"),
        (("pricelist", "add", "Gold", "--percent-off", "abc"), "percentage"),
        (("pricelist", "add", "Silver"), "already a list named 'Silver'"),
        (("pricelist", "set", "Gold", "iptv-1m", "8.50"), "no price list named 'Gold'"),
        (("pricelist", "set", "Silver", "nope", "8.50"), "no plan with code 'nope'"),
        (("pricelist", "set", "Silver", "iptv-1m", "8.505"), "not a price or a percentage"),
        (("pricelist", "set", "Silver", "iptv-1m", "-1"), "not a price or a percentage"),
        (("pricelist", "set", "Silver", "iptv-1m", "100%"), "percentage"),
        (("pricelist", "assign", "Silver", "--telegram-id", "999"), "999 is not a reseller"),
        (("pricelist", "assign", "Silver", "--telegram-id", "1001", "--base"), "not both"),
        (("pricelist", "assign", "--telegram-id", "1001"), "not both"),
        (("pricelist", "assign", "Silver", "--telegram-id", "0"), "greater than zero"),
        (("pricelist", "show", "Gold"), "no price list named 'Gold'"),
    ],
)  # fmt: skip
def test_bad_pricelist_commands_are_refused_with_one_line_and_write_nothing(
    run,  # noqa: F811
    db: Database,
    database_url: str,
    argv: tuple[str, ...],
    said: str,
) -> None:
    _setup(run)
    assert run("pricelist", "add", "Silver")[0] == 0
    before = _counts(database_url)
    code, out, err = run(*argv)
    assert code != 0 and out == "" and said in err, err
    assert [line for line in err.splitlines() if "error:" in line] == [err.splitlines()[-1]]
    assert _counts(database_url) == before
