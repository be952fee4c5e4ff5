"""Selling into a panel through the running bot: a reseller activates and renews a
customer on a fake Marzban and gets the subscription link and its QR code; a panel that
answers 500 charges nothing; an open circuit refuses before anything is held."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import qrcode  # type: ignore[import-untyped]
from cryptography.fernet import Fernet
from PIL import Image, ImageOps
from pydantic import SecretStr
from sqlalchemy import select

from bot.adapters.panels.base import GIB
from bot.db import Database
from bot.services import ledger, panels, plans
from bot.services.provisioning import SUBSCRIPTION_URL
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from models import Customer, OrderStatus, SubscriptionOrder
from tests.conftest import running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness

KEY = Fernet.generate_key().decode()
RESELLER = 1001


@dataclass
class Shop:
    fake_api: FakeBotAPI
    db: Database
    harness: MarzbanHarness
    alice: User


@pytest.fixture
async def marzban() -> AsyncIterator[MarzbanHarness]:
    harness = MarzbanHarness("marzban")
    await harness.fake.start()
    yield harness
    await harness.fake.stop()


@pytest.fixture
async def shop(
    settings: Settings, db: Database, fake_api: FakeBotAPI, marzban: MarzbanHarness
) -> AsyncIterator[Shop]:
    """A panel added as `panel add` adds it, a plan on it, Alice with 50.00 credits, and
    the bot running with the key the panel was sealed with."""
    await panels.add_panel(
        db, panels.SecretBox(KEY), name="de-1", kind="marzban", base_url=marzban.fake.url,
        credentials={"username": ADMIN, "password": PASSWORD},
    )  # fmt: skip
    await plans.add_plan(
        db, code="vpn-1m", name="VPN 1 month", days=30, price=1_000, panel="de-1",
        template=marzban.template(), data_limit_bytes=50 * GIB, reset_traffic_on_renewal=True,
    )  # fmt: skip
    await make_reseller(db, RESELLER, name="Alice", credit=5_000)
    configured = settings.model_copy(
        update={"secret_key": SecretStr(KEY), "panel_failures_to_open": 2,
                "panel_probe_after_seconds": 3600},
    )  # fmt: skip
    async with running_bot(configured, db):
        yield Shop(fake_api, db, marzban, fake_api.user(RESELLER, "Alice"))


async def _tap(shop: Shop, event: Event, data: str) -> dict[str, Any]:
    return await shop.fake_api.answer(await shop.fake_api.tap(shop.alice, event, data))


async def _confirm_activation(shop: Shop, username: str) -> Event:
    """/activate, the username, the plan, Confirm: what the bot shows then."""
    api, alice = shop.fake_api, shop.alice
    await api.send(alice, "/activate")
    await api.next_event(alice.id)
    await api.send(alice, username)
    picker = await api.next_event(alice.id)
    await _tap(shop, picker, picker.button("VPN 1 month"))
    confirm = await api.next_event(alice.id)
    assert "Confirm activation" in confirm.text
    await _tap(shop, confirm, confirm.key("✅ Confirm"))
    return await api.next_event(alice.id)


async def _balance(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, RESELLER)
        b = await ledger.balance(session, reseller.account_id)
    return b.balance, b.held


async def _customer(db: Database, username: str) -> Customer:
    async with db.transaction() as session:
        found = await session.scalar(select(Customer).where(Customer.username == username))
    assert found is not None, username
    return found


def _qr_modules(png: bytes) -> list[list[bool]]:
    """Read a QR code's modules back from its image: the dark area's bounding box is
    the symbol, the top-left finder's first row is 7 modules wide, and each module is
    sampled at its centre."""
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    grey = image.convert("L")
    left, top, right, bottom = ImageOps.invert(grey).getbbox() or (0, 0, 0, 0)
    run = 0
    while grey.getpixel((left + run, top)) < 128:  # type: ignore[operator]
        run += 1
    module = run / 7
    count = round((right - left) / module)
    assert count == round((bottom - top) / module) and (count - 17) % 4 == 0, count
    return [
        [
            grey.getpixel((int(left + (x + 0.5) * module), int(top + (y + 0.5) * module))) < 128  # type: ignore[operator]
            for x in range(count)
        ]
        for y in range(count)
    ]


def _expected_modules(text: str) -> list[list[bool]]:
    code = qrcode.QRCode(border=0)
    code.add_data(text)
    code.make(fit=True)
    return [list(row) for row in code.get_matrix()]


async def test_activation_creates_the_user_on_the_panel_and_sends_its_link_and_qr_code(
    shop: Shop,
) -> None:
    done = await _confirm_activation(shop, "John")
    assert "john activated" in done.text and "Charged: 10.00 credits" in done.text
    customer = await _customer(shop.db, "john")
    link = json.loads(customer.provider_details or "{}").get(SUBSCRIPTION_URL)
    assert link and link.startswith(shop.harness.fake.url + "/sub/")
    assert f"Subscription link: <code>{link}</code>" in done.text
    photo = await shop.fake_api.next_event(shop.alice.id)
    assert photo.method == "sendPhoto" and "QR code of john" in photo.text
    png = shop.fake_api.file_content(photo.message["photo"][0]["file_id"])
    assert _qr_modules(png) == _expected_modules(link)
    stored = shop.harness.stored("john")
    assert stored is not None and stored.expires_at is not None
    assert abs(stored.expires_at - customer.expires_at) < dt.timedelta(seconds=2)
    assert stored.data_limit_bytes == 50 * GIB
    assert stored.note is not None and stored.note.startswith("order:")
    assert await _balance(shop.db) == (4_000, 0)
    await assert_audit_ok(shop.db)


async def test_renewal_through_the_bot_extends_the_user_on_the_panel(shop: Shop) -> None:
    api, alice = shop.fake_api, shop.alice
    await _confirm_activation(shop, "john")
    await api.next_event(alice.id)  # the QR code
    first = await _customer(shop.db, "john")
    shop.harness.set_used("john", 3 * GIB)
    await api.send(alice, "/renew")
    await api.next_event(alice.id)
    await api.send(alice, "john")
    found = await api.next_event(alice.id)
    await _tap(shop, found, found.button("john"))
    plans_shown = await api.next_event(alice.id)
    await _tap(shop, plans_shown, plans_shown.button("VPN 1 month"))
    confirm = await api.next_event(alice.id)
    assert "Confirm renewal" in confirm.text
    await _tap(shop, confirm, confirm.key("✅ Confirm"))
    done = await api.next_event(alice.id)
    expected = first.expires_at + dt.timedelta(days=30)
    assert f"john renewed</b> until {expected:%Y-%m-%d}" in done.text
    assert (await api.next_event(alice.id)).method == "sendPhoto"
    stored = shop.harness.stored("john")
    assert stored is not None and stored.expires_at is not None
    assert abs(stored.expires_at - expected) < dt.timedelta(seconds=2)
    assert stored.used_bytes == 0  # the plan resets traffic on renewal
    assert (await _customer(shop.db, "john")).expires_at == expected
    assert await _balance(shop.db) == (3_000, 0)
    await assert_audit_ok(shop.db)


async def test_a_panel_answering_500_charges_nothing_and_the_reseller_is_told(
    shop: Shop,
) -> None:
    shop.harness.fake.answer_next()  # the login
    shop.harness.fail_next(500)  # the create
    failed = await _confirm_activation(shop, "john")
    assert "HTTP 500" in failed.text and "Nothing was charged" in failed.text
    assert [r.path for r in shop.harness.fake.calls("POST", "/api/user")] == ["/api/user"]
    assert shop.harness.stored("john") is None
    assert await _balance(shop.db) == (5_000, 0)
    async with shop.db.transaction() as session:
        statuses = list(await session.scalars(select(SubscriptionOrder.status)))
        customers = list(await session.scalars(select(Customer.id)))
    assert statuses == [OrderStatus.FAILED] and customers == []
    await assert_audit_ok(shop.db)


async def test_an_open_circuit_refuses_at_once_without_holding_or_asking_the_panel(
    shop: Shop,
) -> None:
    # Two sales in a row get only a gateway timeout: they wait, held, for reconciliation.
    shop.harness.fake.answer_next()  # the login
    for n in range(2):
        shop.harness.fail_next(504)
        waiting = await _confirm_activation(shop, f"john{n}")
        assert "held, not charged" in waiting.text
    asked = len(shop.harness.fake.requests)
    assert await _balance(shop.db) == (5_000, 2_000)
    refused = await _confirm_activation(shop, "mary")
    assert "panel de-1 is not answering; nothing was charged" in refused.text
    assert len(shop.harness.fake.requests) == asked  # the panel was not even asked
    assert await _balance(shop.db) == (5_000, 2_000)
    async with shop.db.transaction() as session:
        usernames = list(await session.scalars(select(SubscriptionOrder.username)))
    assert usernames == ["john0", "john1"]  # no order, no hold for mary
    await assert_audit_ok(shop.db)
