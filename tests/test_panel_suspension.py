"""A suspended reseller's customers disabled on their panels, and resumed on reactivation
(two fake Marzbans, a local plan, a second reseller whose customers must not be touched)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.db import Database
from bot.services import panels, plans, resellers, sales
from bot.services.admin_log import ActionError
from bot.services.panel_provider import Panels
from bot.services.panel_suspension import Failure, resume_customers, suspend_customers
from bot.services.provisioning import LocalProvider
from models import AdminAction, Customer, ResellerStatus
from tests.helpers import make_reseller
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness

KEY = Fernet.generate_key().decode()
ALICE, BOB = 1001, 1002


@dataclass
class Rig:
    db: Database
    de1: MarzbanHarness
    de2: MarzbanHarness
    panels: Panels
    ids: dict[str, int]  # customer username -> id

    def enabled(self, username: str, harness: MarzbanHarness | None = None) -> bool:
        stored = (harness or self.de1).stored(username)
        assert stored is not None, username
        return stored.enabled


async def sell_customers(
    db: Database, box: panels.SecretBox, harnesses: dict[str, MarzbanHarness]
) -> dict[str, int]:
    """Alice: ann and amy on de-1, ava on de-2, al on a local plan; Bob: ben on de-1."""
    plan_ids: dict[str, int] = {}
    for name, harness in harnesses.items():
        await panels.add_panel(
            db, box, name=name, kind="marzban", base_url=harness.fake.url,
            credentials={"username": ADMIN, "password": PASSWORD},
        )  # fmt: skip
        plan = await plans.add_plan(
            db, code=f"vpn-{name}", name=f"VPN {name}", days=30, price=100, panel=name,
            template=harness.template(),
        )  # fmt: skip
        plan_ids[name] = plan.id
    local = await plans.add_plan(db, code="iptv", name="IPTV", days=30, price=100)
    plan_ids["local"] = local.id
    await make_reseller(db, ALICE, name="Alice", credit=10_000)
    await make_reseller(db, BOB, name="Bob", credit=10_000)
    seller = Panels(db, box)
    ids: dict[str, int] = {}
    for telegram_id, username, where in (
        (ALICE, "ann", "de-1"), (ALICE, "amy", "de-1"), (ALICE, "ava", "de-2"),
        (ALICE, "al", "local"), (BOB, "ben", "de-1"),
    ):  # fmt: skip
        sold = await sales.sell(
            db, LocalProvider(), telegram_id=telegram_id, plan_id=plan_ids[where],
            key=f"k-{username}", now=dt.datetime.now(dt.UTC), provider_seconds=5,
            panels=seller, username=username,
        )  # fmt: skip
        ids[username] = sold.customer.id
    await seller.aclose()
    return ids


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    de1, de2 = MarzbanHarness("marzban"), MarzbanHarness("marzban")
    await de1.fake.start()
    await de2.fake.start()
    box = panels.SecretBox(KEY)
    ids = await sell_customers(db, box, {"de-1": de1, "de-2": de2})
    registry = Panels(db, box, failures_to_open=2, probe_after_seconds=3600)
    yield Rig(db, de1, de2, registry, ids)
    await registry.aclose()
    await de1.fake.stop()
    await de2.fake.stop()


async def _set(db: Database, telegram_id: int, status: ResellerStatus) -> None:
    await resellers.set_status(
        db, telegram_id=telegram_id, status=status, actor="test", now=dt.datetime.now(dt.UTC)
    )


async def _suspend(rig: Rig, seconds: float = 2):  # type: ignore[no-untyped-def]
    await _set(rig.db, ALICE, ResellerStatus.SUSPENDED)
    return await suspend_customers(
        rig.db, rig.panels, telegram_id=ALICE, actor="test", now=dt.datetime.now(dt.UTC),
        seconds=seconds,
    )  # fmt: skip


async def _resume(rig: Rig):  # type: ignore[no-untyped-def]
    await _set(rig.db, ALICE, ResellerStatus.ACTIVE)
    return await resume_customers(
        rig.db, rig.panels, telegram_id=ALICE, actor="test", now=dt.datetime.now(dt.UTC)
    )


async def _marked(db: Database) -> set[str]:
    async with db.transaction() as session:
        found = await session.scalars(
            select(Customer.username).where(Customer.panel_suspended_at.is_not(None))
        )
        return set(found)


async def _actions(db: Database) -> list[tuple[str, dict[str, object] | None]]:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(AdminAction.action, AdminAction.details).order_by(AdminAction.id)
            )
        ).all()
    return [(a, json.loads(d) if d else None) for a, d in rows]


async def test_suspending_disables_only_that_resellers_panel_customers_and_logs_it(
    rig: Rig,
) -> None:
    result = await _suspend(rig)
    assert (result.done, result.skipped, result.failed) == (3, 0, ())
    assert not rig.enabled("ann") and not rig.enabled("amy")
    assert not rig.enabled("ava", rig.de2)
    assert rig.enabled("ben")  # Bob's customer, on the same panel
    assert await _marked(rig.db) == {"ann", "amy", "ava"}  # not al, on the local plan
    assert (await _actions(rig.db))[-1] == (
        "panel_customers_suspended",
        {"before": None, "after": {"done": 3, "skipped": 0, "failed": 0, "failures": {}}},
    )


async def test_a_panel_that_is_down_is_reported_failed_and_the_others_still_suspend(
    rig: Rig,
) -> None:
    await rig.de2.fake.stop()
    result = await _suspend(rig)
    assert result.done == 2
    assert result.failed == (Failure(rig.ids["ava"], "ava", "de-2", "panel_unavailable"),)
    assert not rig.enabled("ann") and not rig.enabled("amy")
    after = (await _actions(rig.db))[-1][1]
    assert after is not None and after["after"] == {
        "done": 2, "skipped": 0, "failed": 1, "failures": {"ava": "panel_unavailable"},
    }  # fmt: skip


async def test_a_panel_whose_circuit_is_open_is_not_asked(rig: Rig) -> None:
    for _ in range(2):
        rig.panels.breaker(1).failed()  # de-1's circuit opens
    asked = len(rig.de1.fake.requests)
    result = await _suspend(rig)
    assert {(f.username, f.code) for f in result.failed} == {
        ("ann", "panel_down"), ("amy", "panel_down"),
    }  # fmt: skip
    assert len(rig.de1.fake.requests) == asked
    assert result.done == 1 and not rig.enabled("ava", rig.de2)
    assert await _marked(rig.db) == {"ava"}


async def test_a_slow_panel_is_given_up_on_within_the_time_per_call(rig: Rig) -> None:
    rig.de2.fake.answer_next()  # the login
    rig.de2.hang_next(3)
    started = dt.datetime.now(dt.UTC)
    result = await _suspend(rig, seconds=0.2)
    assert dt.datetime.now(dt.UTC) - started < dt.timedelta(seconds=2.5)
    assert [(f.username, f.code) for f in result.failed] == [("ava", "panel_timeout")]
    assert result.done == 2


async def test_reactivation_resumes_exactly_the_customers_the_bot_suspended(rig: Rig) -> None:
    # An admin disabled Amy by hand on the panel before Alice was suspended.
    await rig.panels.call(1, lambda a: a.suspend("amy"))
    suspended = await _suspend(rig)
    assert (suspended.done, suspended.skipped) == (2, 1)
    assert await _marked(rig.db) == {"ann", "ava"}
    resumed = await _resume(rig)
    assert (resumed.done, resumed.failed) == (2, ())
    assert rig.enabled("ann") and rig.enabled("ava", rig.de2)
    assert not rig.enabled("amy")  # still as the admin left it
    assert await _marked(rig.db) == set()
    again = await resume_customers(
        rig.db, rig.panels, telegram_id=ALICE, actor="test", now=dt.datetime.now(dt.UTC)
    )
    assert again.attempted == 0  # nothing left to resume, and nothing more is logged
    assert [a for a, _ in await _actions(rig.db)][-2:] == [
        "reseller_activated", "panel_customers_resumed",
    ]  # fmt: skip


async def test_a_failed_resume_stays_marked_and_a_second_run_finishes_it(rig: Rig) -> None:
    await _suspend(rig)
    rig.de2.fail_next(500)
    first = await _resume(rig)
    assert first.done == 2
    assert [(f.username, f.code) for f in first.failed] == [("ava", "panel_unavailable")]
    assert await _marked(rig.db) == {"ava"} and not rig.enabled("ava", rig.de2)
    second = await resume_customers(
        rig.db, rig.panels, telegram_id=ALICE, actor="test", now=dt.datetime.now(dt.UTC)
    )
    assert (second.done, second.failed) == (1, ())
    assert rig.enabled("ava", rig.de2) and await _marked(rig.db) == set()


async def test_customers_are_suspended_only_for_a_suspended_reseller_and_resumed_for_an_active(
    rig: Rig,
) -> None:
    now = dt.datetime.now(dt.UTC)
    with pytest.raises(ActionError) as refused:
        await suspend_customers(rig.db, rig.panels, telegram_id=ALICE, actor="t", now=now)
    assert refused.value.code == "reseller_not_suspended"
    assert rig.enabled("ann")
    await _set(rig.db, ALICE, ResellerStatus.SUSPENDED)
    with pytest.raises(ActionError) as refused:
        await resume_customers(rig.db, rig.panels, telegram_id=ALICE, actor="t", now=now)
    assert refused.value.code == "reseller_not_active"
