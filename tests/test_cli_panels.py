"""``panel check`` and ``panel import`` from the shell, against a fake Marzban, on both
databases: output, exit codes, nothing charged, nothing half-written."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot import cli
from bot.adapters.panels.base import GIB, NewUser
from bot.db import Database
from bot.services import panels, plans, sales
from bot.services.provisioning import LocalProvider
from models import AdminAction, Customer, Hold, Transfer
from tests.conftest import database_from_url
from tests.helpers import make_reseller
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness
from tests.panels.fake_marzban_users import FakeUser

KEY = Fernet.generate_key().decode()
Run = Callable[..., Awaitable[tuple[int, str, str]]]


@pytest.fixture
def run(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    """The CLI in a thread of its own (it runs its own event loop), so the fake panel
    keeps answering on the test's loop meanwhile."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", KEY)
    monkeypatch.setenv("TIMEZONE", "UTC")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))

    def _main(argv: list[str]) -> int:
        try:
            return cli.main(argv)
        except SystemExit as exc:  # argparse errors
            return int(exc.code or 0)

    async def _run(*argv: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(_main, list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
async def harness(db: Database) -> AsyncIterator[MarzbanHarness]:
    """Panel de-1 (a fake Marzban) with plan vpn-1m on it, a local plan, reseller 1001."""
    found = MarzbanHarness("marzban")
    await found.fake.start()
    await panels.add_panel(
        db, panels.SecretBox(KEY), name="de-1", kind="marzban", base_url=found.fake.url,
        credentials={"username": ADMIN, "password": PASSWORD}, options={"timeout_seconds": 2},
    )  # fmt: skip
    await plans.add_plan(
        db, code="vpn-1m", name="VPN 1 month", days=30, price=1_000, panel="de-1",
        template=found.template(), data_limit_bytes=50 * GIB,
    )  # fmt: skip
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_000)
    await make_reseller(db, 1001, credit=5_000)
    await make_reseller(db, 1002, name="Bob")
    yield found
    await found.fake.stop()


def _seed(harness: MarzbanHarness, username: str, days: int) -> dt.datetime:
    expires = (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).replace(microsecond=0)
    user = NewUser(username, expires, reference="", template=harness.template())
    harness.seed(user, note=None)
    return expires


async def _counts(db: Database) -> tuple[int, ...]:
    async with db.transaction() as session:
        return tuple(
            [
                await session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Customer, Transfer, Hold, AdminAction)
            ]
        )


async def _plan_id(db: Database, code: str) -> int:
    return next(p.id for p in await plans.list_plans(db) if p.code == code)


async def _customer(db: Database, username: str) -> Customer:
    async with db.transaction() as session:
        found = await session.scalar(select(Customer).where(Customer.username == username))
        assert found is not None, username
        return found


async def test_check_prints_agreement_then_the_differences_and_changes_nothing(
    run: Run, db: Database, harness: MarzbanHarness
) -> None:
    code, out, err = await run("panel", "check", "--name", "de-1")
    assert (code, err) == (0, "")
    assert out == "Panel de-1 agrees with the bot: 0 active customers here, 0 users on the panel.\n"
    _seed(harness, "stranger", days=9)
    before = await _counts(db)
    code, out, err = await run("panel", "check", "--name", "de-1")
    assert (code, err) == (0, "")
    assert "Panel de-1: 1 differences; 0 active customers here, 1 users on the panel." in out
    assert "On the panel, unknown to the bot (1):\n  stranger\tactive on the panel" in out
    assert out.endswith("Nothing was changed.\n")
    assert await _counts(db) == before


async def test_check_refuses_an_unknown_panel_and_says_when_a_panel_is_down(
    run: Run, harness: MarzbanHarness
) -> None:
    code, out, err = await run("panel", "check", "--name", "nowhere")
    assert code == 1 and out == "" and "error: no panel named 'nowhere'" in err
    await harness.fake.stop()
    code, out, err = await run("panel", "check", "--name", "de-1")
    assert code == 1 and out == ""
    assert err == "error: panel de-1 could not be checked: panel de-1 did not answer properly\n"


async def test_import_makes_panel_users_customers_without_charging_and_only_once(
    run: Run, db: Database, harness: MarzbanHarness
) -> None:
    ann_expires = _seed(harness, "ann", days=10)
    _seed(harness, "old", days=-3)
    harness.fake.add(FakeUser(username="forever"))  # no expiry on the panel
    await sales.sell(
        db, LocalProvider(), telegram_id=1001, plan_id=await _plan_id(db, "iptv-1m"),
        key="k1", now=dt.datetime.now(dt.UTC), provider_seconds=5, username="john",
    )  # fmt: skip
    _seed(harness, "john", days=5)  # someone else's name here: a clash
    customers_before, transfers, holds, actions = await _counts(db)

    code, out, err = await run(
        "panel", "import", "--name", "de-1", "--reseller", "1002", "--plan", "vpn-1m"
    )

    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "Imported 2 users of panel de-1 as customers of 1002 on plan vpn-1m (1 active, "
        "1 expired), without charging; 0 were customers already.",
        "Skipped, the username belongs to another customer or sale (1): john",
        "Skipped, no expiry on the panel (1): forever",
    ]
    assert await _counts(db) == (customers_before + 2, transfers, holds, actions + 1)
    ann = await _customer(db, "ann")
    assert (ann.status, ann.external_id, ann.expires_at) == ("active", "ann", ann_expires)
    assert ann.reseller_id == 2 and ann.link_token
    details = json.loads(ann.provider_details or "{}")
    assert details["subscription_url"].startswith(harness.fake.url + "/sub/")
    assert (await _customer(db, "old")).status == "expired"
    assert (await _customer(db, "john")).reseller_id == 1  # the clash was left alone
    async with db.transaction() as session:
        action = await session.scalar(select(AdminAction).order_by(AdminAction.id.desc()))
    assert action is not None and (action.action, action.actor) == ("panel_import", "cli")

    code, out, _ = await run(
        "panel", "import", "--name", "de-1", "--reseller", "1002", "--plan", "vpn-1m"
    )
    assert code == 0
    assert out.splitlines()[0] == (
        "Imported 0 users of panel de-1 as customers of 1002 on plan vpn-1m (0 active, "
        "0 expired), without charging; 2 were customers already."
    )
    assert await _counts(db) == (customers_before + 2, transfers, holds, actions + 1)


async def test_an_imported_customer_is_in_agreement_with_the_panel(
    run: Run, db: Database, harness: MarzbanHarness
) -> None:
    _seed(harness, "ann", days=10)
    await run("panel", "import", "--name", "de-1", "--reseller", "1002", "--plan", "vpn-1m")
    code, out, _ = await run("panel", "check", "--name", "de-1")
    assert code == 0 and "agrees with the bot: 1 active customers here" in out


async def test_a_dry_run_says_what_it_would_import_and_writes_nothing(
    run: Run, db: Database, harness: MarzbanHarness
) -> None:
    _seed(harness, "ann", days=10)
    before = await _counts(db)
    code, out, err = await run(
        "panel", "import", "--name", "de-1", "--reseller", "1002", "--plan", "vpn-1m", "--dry-run"
    )
    assert (code, err) == (0, "")
    assert out.startswith("Would import 1 users of panel de-1")
    assert out.endswith("Dry run: nothing was written.\n")
    assert await _counts(db) == before


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["--name", "nowhere", "--reseller", "1002", "--plan", "vpn-1m"], "no panel named"),
        (["--name", "de-1", "--reseller", "4242", "--plan", "vpn-1m"], "no reseller with"),
        (["--name", "de-1", "--reseller", "1002", "--plan", "nope"], "no plan with code 'nope'"),
        (["--name", "de-1", "--reseller", "1002", "--plan", "iptv-1m"], "not on panel de-1"),
        (["--name", "de-1", "--reseller", "0", "--plan", "vpn-1m"], "greater than zero"),
        (["--name", "de-1", "--reseller", "1002", "--plan", "x" * 33], "at most 32"),
    ],
)
async def test_import_refuses_bad_input_with_one_line_and_writes_nothing(
    run: Run, db: Database, harness: MarzbanHarness, argv: list[str], error: str
) -> None:
    _seed(harness, "ann", days=10)
    before = await _counts(db)
    code, out, err = await run("panel", "import", *argv)
    assert code != 0 and out == ""
    assert "error:" in err.strip().splitlines()[-1] and error in err
    assert await _counts(db) == before
