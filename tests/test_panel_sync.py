"""The second reconciliation: active customers against a fake Marzban's users."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot.adapters.panels.base import GIB, NewUser, UserState
from bot.db import Database
from bot.i18n import SOURCE
from bot.services import customers, panel_sync, panels, plans, sales
from bot.services.panel_provider import Panels
from bot.services.provisioning import LocalProvider
from bot.settings import Settings
from handlers.admin import panel_report_views
from handlers.pages import TEXT_LIMIT, length
from handlers.reader import Reader
from models import Customer, OutboxMessage, Transfer
from tests.helpers import make_reseller
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness

KEY = Fernet.generate_key().decode()
CHAT = -100_777


@dataclass
class Rig:
    db: Database
    harness: MarzbanHarness
    panels: Panels
    plan_id: int


@pytest.fixture
async def rig(db: Database) -> AsyncIterator[Rig]:
    harness = MarzbanHarness("marzban")
    await harness.fake.start()
    box = panels.SecretBox(KEY)
    await panels.add_panel(
        db, box, name="de-1", kind="marzban", base_url=harness.fake.url,
        credentials={"username": ADMIN, "password": PASSWORD}, options={"timeout_seconds": 0.5},
    )  # fmt: skip
    plan = await plans.add_plan(
        db, code="vpn-1m", name="VPN 1 month", days=30, price=1_000, panel="de-1",
        template=harness.template(), data_limit_bytes=50 * GIB,
    )  # fmt: skip
    await make_reseller(db, 1001, credit=10_000)
    registry = Panels(db, box, failures_to_open=2, probe_after_seconds=3600)
    yield Rig(db, harness, registry, plan.id)
    await registry.aclose()
    await harness.fake.stop()


async def _sell(rig: Rig, username: str) -> customers.CustomerView:
    sold = await sales.sell(
        rig.db, LocalProvider(), telegram_id=1001, plan_id=rig.plan_id, key=f"k-{username}",
        now=dt.datetime.now(dt.UTC), provider_seconds=5, panels=rig.panels, username=username,
    )  # fmt: skip
    return sold.customer


def _seed(rig: Rig, username: str, days: int) -> None:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    user = NewUser(username, expires, reference="", template=rig.harness.template())
    rig.harness.seed(user, note=None)


async def _count(db: Database, model: type) -> int:
    async with db.transaction() as session:
        return await session.scalar(select(func.count()).select_from(model)) or 0


async def _check(rig: Rig) -> panel_sync.PanelReport:
    [report] = await panel_sync.compare(rig.db, rig.panels, now=dt.datetime.now(dt.UTC))
    return report


async def test_a_panel_that_agrees_gives_a_clean_report_and_queues_nothing(rig: Rig) -> None:
    await _sell(rig, "john")
    await _sell(rig, "mary")
    report = await _check(rig)
    assert report.clean and (report.customers, report.panel_users) == (2, 2)
    now = dt.datetime.now(dt.UTC)
    assert (
        await panel_sync.queue_reports(rig.db, [report], chat_id=CHAT, now=now, day=now.date()) == 0
    )
    assert await _count(rig.db, OutboxMessage) == 0


async def test_each_kind_of_difference_is_reported_and_nothing_is_changed(rig: Rig) -> None:
    for name in ("ann", "bob", "cat", "dan"):
        await _sell(rig, name)
    del rig.harness.fake.users["bob"]  # gone from the panel
    cat = rig.harness.fake.user("cat")
    assert cat is not None
    cat.expire = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)  # cut short there
    dan = rig.harness.fake.user("dan")
    assert dan is not None
    dan.status = "disabled"
    _seed(rig, "stranger", days=10)
    transfers = await _count(rig.db, Transfer)
    before = {name: rig.harness.stored(name) for name in ("ann", "cat", "dan", "stranger")}

    report = await _check(rig)

    assert [d.username for d in report.missing] == ["bob"]
    assert [d.username for d in report.expired_early] == ["cat"]
    assert report.expired_early[0].panel_expires_at is not None
    assert [d.username for d in report.disabled] == ["dan"]
    assert report.disabled[0].panel_state == UserState.DISABLED
    assert [d.username for d in report.unknown] == ["stranger"]
    assert (report.customers, report.panel_users, report.differences) == (4, 4, 4)
    assert {name: rig.harness.stored(name) for name in before} == before
    assert await _count(rig.db, Transfer) == transfers
    async with rig.db.transaction() as session:
        statuses = set(await session.scalars(select(Customer.status)))
    assert statuses == {"active"}


async def test_a_user_on_the_panel_for_an_expired_customer_is_not_unknown(rig: Rig) -> None:
    sold = await _sell(rig, "john")
    async with rig.db.transaction() as session:
        row = await session.get(Customer, sold.id)
        assert row is not None
        row.status = "expired"
    report = await _check(rig)
    assert report.clean and report.customers == 0


async def test_a_panel_that_is_down_is_reported_as_not_checked_without_raising(rig: Rig) -> None:
    await _sell(rig, "john")
    await rig.harness.fake.stop()
    report = await _check(rig)
    assert not report.checked and report.error == "panel de-1 did not answer properly"
    assert not report.clean


async def test_an_open_circuit_is_not_asked_and_is_reported(rig: Rig) -> None:
    rig.panels.breaker(1).failed()
    rig.panels.breaker(1).failed()
    asked = len(rig.harness.fake.requests)
    report = await _check(rig)
    assert report.error is not None and "circuit is open" in report.error
    assert len(rig.harness.fake.requests) == asked


async def test_a_report_is_queued_once_per_panel_and_day(rig: Rig) -> None:
    _seed(rig, "stranger", days=10)
    now = dt.datetime.now(dt.UTC)
    report = await _check(rig)
    queue = panel_sync.queue_reports
    assert await queue(rig.db, [report], chat_id=CHAT, now=now, day=now.date()) == 1
    assert await queue(rig.db, [report], chat_id=CHAT, now=now, day=now.date()) == 0
    tomorrow = now.date() + dt.timedelta(days=1)
    assert await queue(rig.db, [report], chat_id=CHAT, now=now, day=tomorrow) == 1
    assert await queue(rig.db, [report], chat_id=None, now=now, day=now.date()) == 0


async def test_a_disabled_panel_is_left_out_of_the_daily_check(rig: Rig) -> None:
    await panels.set_enabled(rig.db, "de-1", enabled=False)
    assert await panel_sync.compare(rig.db, rig.panels, now=dt.datetime.now(dt.UTC)) == []


def test_a_long_report_fits_one_message_and_keeps_the_counts() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    now = dt.datetime(2031, 3, 10, tzinfo=dt.UTC)
    many = tuple(
        panel_sync.Difference("u" * 30 + f"{n:02}", now, now, UserState.EXPIRED) for n in range(99)
    )
    report = panel_sync.PanelReport(
        "de-1", customers=500, panel_users=600, missing=many, expired_early=many,
        disabled=many, unknown=many,
    )  # fmt: skip
    text = panel_report_views.render(
        panel_sync.notice(report, CHAT, now.date()).payload, Reader.of(settings, SOURCE)
    )
    assert length(text) <= TEXT_LIMIT
    assert text.count("… and 89 more") == 4
    assert "Missing on the panel</b> (99)" in text
