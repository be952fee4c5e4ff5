"""Panels seen from chat, end to end: a customer's live /status, and the daily check's
report reaching the admin group (the real application, the fake Bot API, a fake Marzban)."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import update

import jobs
from bot.adapters.panels.base import GIB, NewUser
from bot.db import Database
from bot.services import panels, plans, sales
from bot.services.panel_provider import Panels
from bot.services.provisioning import LocalProvider
from bot.settings import Settings
from models import Customer
from tests.conftest import ADMIN_CHAT_ID, running_bot
from tests.fake_bot_api import FakeBotAPI, User
from tests.helpers import make_reseller
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness
from tests.test_jobs import drain, read_all

KEY = Fernet.generate_key().decode()


@dataclass
class Rig:
    db: Database
    settings: Settings
    harness: MarzbanHarness
    fake_api: FakeBotAPI
    carol: User


def _with(settings: Settings, **changes: Any) -> Settings:
    return settings.model_copy(update={"secret_key": SecretStr(KEY), **changes})


@pytest.fixture
async def rig(db: Database, settings: Settings, fake_api: FakeBotAPI) -> AsyncIterator[Rig]:
    """John, a customer on a panel plan, sold by Alice; Carol's chat is linked to him."""
    harness = MarzbanHarness("marzban")
    await harness.fake.start()
    box = panels.SecretBox(KEY)
    await panels.add_panel(
        db, box, name="de-1", kind="marzban", base_url=harness.fake.url,
        credentials={"username": ADMIN, "password": PASSWORD}, options={"timeout_seconds": 5},
    )  # fmt: skip
    plan = await plans.add_plan(
        db, code="vpn-1m", name="VPN 1 month", days=30, price=1_000, panel="de-1",
        template=harness.template(), data_limit_bytes=50 * GIB,
    )  # fmt: skip
    await make_reseller(db, 1001, credit=5_000)
    seller = Panels(db, box)
    sold = await sales.sell(
        db, LocalProvider(), telegram_id=1001, plan_id=plan.id, key="n1",
        now=dt.datetime.now(dt.UTC), provider_seconds=5, panels=seller, username="john",
    )  # fmt: skip
    await seller.aclose()
    carol = fake_api.user(5001, "Carol")
    async with db.transaction() as session:
        await session.execute(
            update(Customer).where(Customer.id == sold.customer.id).values(chat_id=carol.id)
        )
    yield Rig(db, _with(settings), harness, fake_api, carol)
    await harness.fake.stop()


async def _status(rig: Rig) -> str:
    await rig.fake_api.send(rig.carol, "/status")
    return (await rig.fake_api.next_event(rig.carol.id)).text


def _gets(rig: Rig) -> int:
    return len(rig.harness.fake.calls("GET", "/api/user/john"))


async def test_status_shows_the_panels_state_traffic_and_online_and_reuses_it_briefly(
    rig: Rig,
) -> None:
    rig.harness.set_used("john", int(3.25 * GIB))
    john = rig.harness.fake.user("john")
    assert john is not None
    john.online_at = dt.datetime.now(dt.UTC)
    async with running_bot(rig.settings, rig.db):
        text = await _status(rig)
        assert "📡 <b>On the panel</b>: active · online now" in text
        assert "Traffic: 3.2 GB used of 50.0 GB" in text
        assert "Expires there: " in text and "unavailable" not in text
        assert _gets(rig) == 1
        rig.harness.set_used("john", 10 * GIB)
        again = await _status(rig)
        assert "Traffic: 3.2 GB used" in again  # the cached answer, within its lifetime
        assert _gets(rig) == 1


async def test_status_answers_from_the_database_when_the_panel_is_down(rig: Rig) -> None:
    await rig.harness.fake.stop()
    async with running_bot(rig.settings, rig.db):
        text = await _status(rig)
    assert "Live data from the panel is unavailable right now" in text
    assert "Status: active until" in text and "john" in text
    assert "On the panel" not in text


async def test_status_does_not_wait_for_a_slow_panel(rig: Rig) -> None:
    rig.harness.hang_next(3)
    settings = _with(rig.settings, live_status_timeout_seconds=0.2)
    async with running_bot(settings, rig.db):
        text = await _status(rig)
    assert "Live data from the panel is unavailable right now" in text


async def test_status_does_not_ask_a_panel_whose_circuit_is_open(rig: Rig) -> None:
    settings = _with(rig.settings, panel_failures_to_open=2, panel_probe_after_seconds=3600)
    rig.harness.fail_next(500, times=10)
    async with running_bot(settings, rig.db):
        for _ in range(2):
            assert "unavailable" in await _status(rig)
        asked = len(rig.harness.fake.requests)
        assert "unavailable" in await _status(rig)
        assert len(rig.harness.fake.requests) == asked  # not even a login


async def test_status_says_when_the_panel_has_no_such_user(rig: Rig) -> None:
    del rig.harness.fake.users["john"]
    async with running_bot(rig.settings, rig.db):
        text = await _status(rig)
    assert "The panel does not have this subscription right now" in text


async def test_the_panel_check_reports_differences_to_the_admin_group_once_a_day(
    rig: Rig,
) -> None:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(days=9)
    user = NewUser("stranger", expires, reference="", template=rig.harness.template())
    rig.harness.seed(user, note=None)
    now = dt.datetime.now(dt.UTC)
    async with running_bot(rig.settings, rig.db) as app:
        registry = cast(Panels, app.bot_data["panels"])
        assert await jobs.run_panel_check(rig.db, registry, rig.settings, now) == 1
        await drain(app, rig.db, rig.settings, now)
        [report] = read_all(rig.fake_api, ADMIN_CHAT_ID)
        assert "Panel de-1 disagrees with the bot" in report
        assert "On the panel, unknown to the bot</b> (1)" in report
        assert "<code>stranger</code>" in report and "Missing" not in report
        assert await jobs.run_panel_check(rig.db, registry, rig.settings, now) == 0
        await drain(app, rig.db, rig.settings, now)
        assert read_all(rig.fake_api, ADMIN_CHAT_ID) == []


async def test_a_panel_that_agrees_sends_nothing_and_one_that_is_down_says_so(rig: Rig) -> None:
    now = dt.datetime.now(dt.UTC)
    async with running_bot(rig.settings, rig.db) as app:
        registry = cast(Panels, app.bot_data["panels"])
        assert await jobs.run_panel_check(rig.db, registry, rig.settings, now) == 0
        await rig.harness.fake.stop()
        assert await jobs.run_panel_check(rig.db, registry, rig.settings, now) == 1
        assert await jobs.run_panel_check(rig.db, registry, rig.settings, now) == 0
        await drain(app, rig.db, rig.settings, now)
        [report] = read_all(rig.fake_api, ADMIN_CHAT_ID)
    assert "Panel de-1 could not be checked" in report
