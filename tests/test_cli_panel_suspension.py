"""``reseller suspend --suspend-customers`` and ``reseller activate`` from the shell, against
fake Marzbans, on both databases: the counts, each failure, retrying, the exit codes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.db import Database
from bot.services import panels
from tests import test_cli_panels
from tests.panels.fake_marzban import MarzbanHarness
from tests.test_cli_panels import KEY, Run
from tests.test_panel_suspension import sell_customers

run = test_cli_panels.run  # the CLI in a thread of its own, with the panels' key set


@pytest.fixture
async def de(db: Database) -> AsyncIterator[tuple[MarzbanHarness, MarzbanHarness]]:
    de1, de2 = MarzbanHarness("marzban"), MarzbanHarness("marzban")
    await de1.fake.start()
    await de2.fake.start()
    await sell_customers(db, panels.SecretBox(KEY), {"de-1": de1, "de-2": de2})
    yield de1, de2
    await de1.fake.stop()
    await de2.fake.stop()


def _enabled(harness: MarzbanHarness, username: str) -> bool:
    stored = harness.stored(username)
    assert stored is not None, username
    return stored.enabled


async def test_suspend_with_customers_prints_the_counts_and_activate_resumes_them(
    run: Run, de: tuple[MarzbanHarness, MarzbanHarness]
) -> None:
    de1, de2 = de
    code, out, _ = await run("reseller", "suspend", "--telegram-id", "1001", "--suspend-customers")
    assert code == 0, out
    assert "is suspended" in out
    assert "Customers disabled on their panels: 3; failed: 0." in out
    assert not _enabled(de1, "ann") and not _enabled(de2, "ava") and _enabled(de1, "ben")
    code, out, _ = await run("reseller", "activate", "--telegram-id", "1001")
    assert code == 0, out
    assert "active again" in out and "Customers resumed on their panels: 3; failed: 0." in out
    assert _enabled(de1, "ann") and _enabled(de1, "amy") and _enabled(de2, "ava")


async def test_suspend_without_the_flag_leaves_the_panels_alone(
    run: Run, de: tuple[MarzbanHarness, MarzbanHarness]
) -> None:
    de1, _ = de
    asked = len(de1.fake.requests)
    code, out, _ = await run("reseller", "suspend", "--telegram-id", "1001")
    assert code == 0 and "Customers" not in out
    code, out, _ = await run("reseller", "activate", "--telegram-id", "1001")
    assert code == 0 and "Customers" not in out  # nothing the bot suspended: nothing said
    assert len(de1.fake.requests) == asked and _enabled(de1, "ann")


async def test_failures_are_listed_with_exit_code_1_and_repeating_the_command_retries(
    run: Run, de: tuple[MarzbanHarness, MarzbanHarness]
) -> None:
    de1, de2 = de
    de2.fail_next(500, times=2)  # the adapter asks twice before giving up
    code, out, _ = await run("reseller", "suspend", "--telegram-id", "1001", "--suspend-customers")
    assert code == 1 and "is suspended" in out
    assert "Customers disabled on their panels: 2; failed: 1." in out
    assert "failed: ava on panel de-2: panel_unavailable" in out
    assert _enabled(de2, "ava")
    code, out, _ = await run("reseller", "suspend", "--telegram-id", "1001", "--suspend-customers")
    assert code == 0, out
    assert "already suspended" in out and "Customers disabled on their panels: 3" in out
    assert not _enabled(de2, "ava") and not _enabled(de1, "ann")


async def test_activating_an_active_reseller_with_nothing_to_resume_is_still_refused(
    run: Run, de: tuple[MarzbanHarness, MarzbanHarness]
) -> None:
    code, _, err = await run("reseller", "activate", "--telegram-id", "1001")
    assert code == 1 and "already active" in err
