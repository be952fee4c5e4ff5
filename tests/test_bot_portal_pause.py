"""The portal on a fake Marzban, through the running bot: a customer pauses for 7 days and
resumes after 3 (the clock moved by hand), the expiry moves by exactly those 3 days and
the panel shows the user disabled, then enabled; a pause that runs out resumes by itself;
pausing beyond the allowance, a second tap and another customer's id are refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import select, update

import jobs
from bot.context import BotApplication
from bot.db import Database
from bot.services import panels, pauses, plans, sales
from bot.services.panel_provider import Panels
from bot.services.provisioning import LocalProvider
from bot.settings import Settings
from handlers.portal import callbacks
from models import Customer, CustomerPause, CustomerStatus, Reseller
from tests.conftest import running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import make_reseller, say, tap
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness
from tests.test_jobs import drain

KEY = Fernet.generate_key().decode()
RESELLER = 1001
T0 = dt.datetime.now(dt.UTC).replace(microsecond=0)
DAY = dt.timedelta(days=1)


@dataclass
class Portal:
    app: BotApplication
    api: FakeBotAPI
    db: Database
    harness: MarzbanHarness
    carol: User
    ids: dict[str, int]  # username -> customer id
    clock: list[dt.datetime]

    def at(self, moment: dt.datetime) -> None:
        self.clock[0] = moment

    def enabled(self, username: str) -> bool:
        stored = self.harness.stored(username)
        assert stored is not None
        return stored.enabled


async def _customer(db: Database, customer_id: int) -> Customer:
    async with db.transaction() as session:
        found = await session.get(Customer, customer_id, populate_existing=True)
    assert found is not None
    return found


@pytest.fixture
async def portal(settings: Settings, db: Database, fake_api: FakeBotAPI) -> AsyncIterator[Portal]:
    """Carol's "carol" and Dave's "dave" on a fake Marzban, sold by Alice who allows 10
    pause days a year; Carol's chat linked; the bot's clock at T0, moved by the test."""
    harness = MarzbanHarness("marzban")
    await harness.fake.start()
    box = panels.SecretBox(KEY)
    await panels.add_panel(
        db, box, name="de-1", kind="marzban", base_url=harness.fake.url,
        credentials={"username": ADMIN, "password": PASSWORD},
    )  # fmt: skip
    plan = await plans.add_plan(
        db, code="vpn-1m", name="VPN 1 month", days=30, price=1_000, panel="de-1",
        template=harness.template(),
    )  # fmt: skip
    await make_reseller(db, RESELLER, name="Alice", credit=10_000)
    seller = Panels(db, box)
    ids, tokens = {}, {}
    for username in ("carol", "dave"):
        sold = await sales.sell(
            db, LocalProvider(), telegram_id=RESELLER, plan_id=plan.id, key=f"k-{username}",
            now=T0, provider_seconds=5, panels=seller, username=username,
        )  # fmt: skip
        ids[username], tokens[username] = sold.customer.id, sold.customer.link_token
    await seller.aclose()
    await pauses.set_pause_allowance(
        db, telegram_id=RESELLER, reseller_id=None, admin=False, days=10
    )
    configured = settings.model_copy(update={"secret_key": SecretStr(KEY)})
    clock = [T0]
    async with running_bot(configured, db) as app:
        app.bot_data["clock"] = lambda: clock[0]
        carol = fake_api.user(5001, "Carol")
        assert "Linked!" in (await say(fake_api, carol, f"/start {tokens['carol']}")).text
        yield Portal(app, fake_api, db, harness, carol, ids, clock)
    await harness.fake.stop()


async def _home(p: Portal) -> Event:
    home = await say(p.api, p.carol, "/start")
    assert "Your subscription" in home.text and "carol" in home.text
    return home


async def _pause(p: Portal, days: int) -> Event:
    cid = p.ids["carol"]
    screen = await tap(p.api, p.carol, await _home(p), callbacks.PAUSE.build(cid))
    assert "Days you can still pause this year" in screen.text
    return await tap(p.api, p.carol, screen, callbacks.PAUSE_FOR.build(cid, days))


async def _forged(p: Portal, event: Event, data: str) -> str:
    """Carol's client sends ``data`` under ``event``: the alert the bot answers with."""
    answered = await p.api.answer(await p.api.tap(p.carol, event, data))
    assert str(answered.get("show_alert")).lower() == "true", answered
    return str(answered.get("text", ""))


async def test_a_customer_pauses_for_7_days_resumes_after_3_and_the_expiry_moves_by_3(
    portal: Portal,
) -> None:
    p, cid = portal, portal.ids["carol"]
    before = (await _customer(p.db, cid)).expires_at
    assert p.enabled("carol")
    paused = await _pause(p, 7)
    assert "Paused until" in paused.text
    assert (await _customer(p.db, cid)).status == CustomerStatus.PAUSED
    assert not p.enabled("carol")  # the panel disabled the user
    home = await _home(p)
    assert "paused until" in home.text
    # Three days later Carol resumes; a second tap on the same button is refused politely.
    p.at(T0 + 3 * DAY)
    resumed = await tap(p.api, p.carol, paused, callbacks.RESUME.build(cid))
    assert "3 days were added back" in resumed.text
    after = await _customer(p.db, cid)
    assert after.status == CustomerStatus.ACTIVE
    assert after.expires_at - before == 3 * DAY  # exactly the paused time
    stored = p.harness.stored("carol")
    assert stored is not None and stored.enabled  # enabled again ...
    assert stored.expires_at == after.expires_at  # ... with the moved expiry
    assert "not paused" in await _forged(p, paused, callbacks.RESUME.build(cid))
    assert (await _customer(p.db, cid)).expires_at == after.expires_at  # moved once
    # The allowance counts the 3 days used: 7 are left.
    screen = await tap(p.api, p.carol, await _home(p), callbacks.PAUSE.build(cid))
    assert "7 of 10" in screen.text


async def test_a_pause_that_runs_out_resumes_by_itself_and_the_customer_is_told(
    portal: Portal,
) -> None:
    p, cid = portal, portal.ids["carol"]
    before = (await _customer(p.db, cid)).expires_at
    await _pause(p, 7)
    settings = p.app.bot_data["settings"]
    registry = p.app.bot_data["panels"]
    # The job comes round a day late: the pause still counts its 7 days, not 8.
    late = T0 + 8 * DAY
    done = await jobs.run_pause_ends(p.db, registry, settings, T0 + 6 * DAY)
    assert done.resumed == 0 and (await _customer(p.db, cid)).status == CustomerStatus.PAUSED
    done = await jobs.run_pause_ends(p.db, registry, settings, late)
    assert (done.resumed, done.failed) == (1, 0)
    after = await _customer(p.db, cid)
    assert after.status == CustomerStatus.ACTIVE
    assert after.expires_at - before == 7 * DAY
    assert p.enabled("carol")
    await drain(p.app, p.db, settings, late)
    notice = await p.api.next_event(p.carol.id)
    assert "Your pause is over" in notice.text
    # Run again: nothing left to resume, nothing sent twice.
    assert (await jobs.run_pause_ends(p.db, registry, settings, late)).resumed == 0


async def test_pausing_beyond_the_allowance_is_refused_and_changes_nothing(
    portal: Portal,
) -> None:
    p, cid = portal, portal.ids["carol"]
    home = await _home(p)
    screen = await tap(p.api, p.carol, home, callbacks.PAUSE.build(cid))
    offered = [data for _, data in screen.buttons if data.startswith("pt:pd:")]
    assert offered == [callbacks.PAUSE_FOR.build(cid, d) for d in (3, 7, 10)]
    # A modified client asks for 11 days (and 0): refused, nothing paused on the panel.
    for days in (11, 0):
        refused = await _forged(p, screen, callbacks.PAUSE_FOR.build(cid, days))
        assert "at most 10 more days this year" in refused
    assert (await _customer(p.db, cid)).status == CustomerStatus.ACTIVE
    assert p.enabled("carol")
    # A reseller that allows no pausing: the button is gone and a forged tap refused.
    async with p.db.transaction() as session:
        await session.execute(update(Reseller).values(max_pause_days=0))
    home = await _home(p)
    assert callbacks.PAUSE.build(cid) not in [data for _, data in home.buttons]
    assert "does not offer pausing" in await _forged(p, home, callbacks.PAUSE_FOR.build(cid, 3))
    async with p.db.transaction() as session:
        assert await session.scalar(select(CustomerPause.id)) is None


async def test_another_customers_id_in_a_forged_button_finds_nothing(portal: Portal) -> None:
    p, dave = portal, portal.ids["dave"]
    home = await _home(p)
    for data in (
        callbacks.SUBSCRIPTION.build(dave),
        callbacks.PAUSE_FOR.build(dave, 3),
        callbacks.PAYMENTS.build(dave, 0),
        callbacks.UNLINK_CONFIRM.build(dave),
        callbacks.CANCEL.build(dave),
        callbacks.CHANGE_TO.build(dave, 1),
    ):
        assert "not linked to this chat" in await _forged(p, home, data), data
    found = await _customer(p.db, dave)
    assert found.status == CustomerStatus.ACTIVE and found.chat_id is None
    assert p.enabled("dave")


async def test_the_subscription_shows_the_panels_traffic_and_the_link_comes_again_with_a_qr(
    portal: Portal,
) -> None:
    p, cid = portal, portal.ids["carol"]
    p.harness.set_used("carol", 3 * 1024**3)
    p.app.bot_data.pop("live_status", None)  # the link's status screen cached the panel
    home = await _home(p)
    shown = await tap(p.api, p.carol, home, callbacks.SUBSCRIPTION.build(cid))
    assert "VPN 1 month" in shown.text and "30 days left" in shown.text
    assert "On the panel" in shown.text and "Traffic: 3.0 GB used" in shown.text
    access = await tap(p.api, p.carol, shown, callbacks.ACCESS.build(cid))
    link = p.harness.stored("carol")
    assert link is not None
    assert "Subscription link" in access.text and "http" in access.text
    photo = await p.api.next_event(p.carol.id)
    assert photo.method == "sendPhoto" and "QR code" in photo.text
    assert p.api.file_content(photo.message["photo"][0]["file_id"])[:4] == b"\x89PNG"


async def test_a_panel_that_fails_the_pause_leaves_everything_as_it_was(portal: Portal) -> None:
    p, cid = portal, portal.ids["carol"]
    p.harness.fail_next(500, times=3)
    screen = await tap(p.api, p.carol, await _home(p), callbacks.PAUSE.build(cid))
    refused = await _forged(p, screen, callbacks.PAUSE_FOR.build(cid, 7))
    assert "could not be reached" in refused
    assert (await _customer(p.db, cid)).status == CustomerStatus.ACTIVE
    assert p.enabled("carol")
    async with p.db.transaction() as session:
        assert await session.scalar(select(CustomerPause.id)) is None


async def test_a_second_tap_on_pause_pauses_once(portal: Portal) -> None:
    p, cid = portal, portal.ids["carol"]
    screen = await tap(p.api, p.carol, await _home(p), callbacks.PAUSE.build(cid))
    await tap(p.api, p.carol, screen, callbacks.PAUSE_FOR.build(cid, 3))
    refused = await _forged(p, screen, callbacks.PAUSE_FOR.build(cid, 7))
    assert "already paused" in refused
    async with p.db.transaction() as session:
        rows = list(await session.scalars(select(CustomerPause)))
    assert len(rows) == 1 and rows[0].until - rows[0].started_at == 3 * DAY


async def test_the_reseller_renewing_a_paused_subscription_keeps_its_frozen_days(
    portal: Portal,
) -> None:
    """Paused for 7 days, renewed by Alice after 3: the 3 paused days come back first,
    then the 30 bought; the panel enables the user and the pause is closed."""
    p, cid = portal, portal.ids["carol"]
    before = (await _customer(p.db, cid)).expires_at
    await _pause(p, 7)
    assert not p.enabled("carol")
    plan_id = (await _customer(p.db, cid)).plan_id
    seller = Panels(p.db, panels.SecretBox(KEY))
    try:
        renewed = await sales.sell(
            p.db, LocalProvider(), telegram_id=RESELLER, plan_id=plan_id,
            key="renew-paused", now=T0 + 3 * DAY, provider_seconds=5, panels=seller,
            customer_id=cid,
        )  # fmt: skip
    finally:
        await seller.aclose()
    after = await _customer(p.db, cid)
    assert after.status == CustomerStatus.ACTIVE
    assert after.expires_at == before + 3 * DAY + 30 * DAY == renewed.customer.expires_at
    assert p.enabled("carol")
    stored = p.harness.stored("carol")
    assert stored is not None and stored.expires_at == after.expires_at
    async with p.db.transaction() as session:
        row = await session.scalar(select(CustomerPause).where(CustomerPause.customer_id == cid))
    assert row is not None and row.resumed_at == T0 + 3 * DAY


async def test_resuming_while_the_reseller_is_suspended_moves_the_panels_expiry_too(
    portal: Portal,
) -> None:
    """Alice is suspended during Carol's pause: the resume keeps the user disabled (her
    reactivation enables it) but the panel's expiry moves with the paused time, as ours."""
    p, cid = portal, portal.ids["carol"]
    paused = await _pause(p, 7)
    async with p.db.transaction() as session:
        await session.execute(
            update(Reseller).where(Reseller.telegram_id == RESELLER).values(status="suspended")
        )
    p.at(T0 + 3 * DAY)
    await tap(p.api, p.carol, paused, callbacks.RESUME.build(cid))
    after = await _customer(p.db, cid)
    assert after.status == CustomerStatus.ACTIVE and after.panel_suspended_at is not None
    stored = p.harness.stored("carol")
    assert stored is not None and not stored.enabled
    assert stored.expires_at == after.expires_at
