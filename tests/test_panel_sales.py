"""Selling into a panel (a fake Marzban), settling in-flight orders, the circuit breaker."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from bot.adapters.panels.base import GIB
from bot.db import Database
from bot.services import ledger, panels, plans, reconcile, sales
from bot.services.panel_provider import Panels
from bot.services.provisioning import SUBSCRIPTION_URL, LocalProvider
from bot.services.sale_errors import SaleFailed, SaleInDoubt
from models import OrderStatus, OutboxMessage, Panel, SubscriptionOrder
from tests.helpers import assert_audit_ok, make_reseller
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness

KEY = Fernet.generate_key().decode()


@dataclass
class Rig:
    db: Database
    harness: MarzbanHarness
    panels: Panels
    plan_id: int
    account_id: int


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
        template=harness.template(), data_limit_bytes=50 * GIB, reset_traffic_on_renewal=True,
    )  # fmt: skip
    reseller = await make_reseller(db, 1001, credit=5_000)
    registry = Panels(db, box, failures_to_open=2, probe_after_seconds=3600)
    yield Rig(db, harness, registry, plan.id, reseller.account_id)
    await registry.aclose()
    await harness.fake.stop()


async def _sell(rig: Rig, key: str, seconds: float = 5, **kwargs):  # type: ignore[no-untyped-def]
    return await sales.sell(
        rig.db, LocalProvider(), telegram_id=1001, plan_id=rig.plan_id, key=key,
        now=dt.datetime.now(dt.UTC), provider_seconds=seconds, panels=rig.panels, **kwargs,
    )  # fmt: skip


async def _balance(rig: Rig) -> tuple[int, int]:
    async with rig.db.transaction() as session:
        b = await ledger.balance(session, rig.account_id)
    return b.balance, b.held


async def _notices(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


async def _order(db: Database) -> SubscriptionOrder:
    async with db.transaction() as session:
        order = await session.scalar(select(SubscriptionOrder).order_by(SubscriptionOrder.id))
        assert order is not None
        return order


async def test_credentials_are_stored_encrypted_and_refused_without_a_key(db: Database) -> None:
    with pytest.raises(panels.PanelConfigError, match=r"SECRET_KEY is not set.*Fernet"):
        await panels.add_panel(
            db, panels.SecretBox(None), name="p", kind="marzban", base_url="http://x",
            credentials={"username": "u", "password": "hunter2-secret"},
        )  # fmt: skip
    box = panels.SecretBox(KEY)
    added = await panels.add_panel(
        db, box, name="p", kind="marzban", base_url="http://x",
        credentials={"username": "u", "password": "hunter2-secret"},
    )  # fmt: skip
    async with db.transaction() as session:
        stored = await session.scalar(select(Panel.credentials).where(Panel.id == added.id))
    assert stored and "hunter2" not in stored
    assert await panels.secrets_of(db, box) == ["hunter2-secret"]
    with pytest.raises(panels.PanelConfigError, match="not the key"):
        await panels.opened(db, panels.SecretBox(Fernet.generate_key().decode()), added.id)


async def test_activation_creates_the_user_on_the_panel_with_expiry_limit_and_reference(
    rig: Rig,
) -> None:
    sold = await _sell(rig, "n1", username="john")
    stored = rig.harness.stored("john")
    assert stored is not None
    assert stored.expires_at is not None
    assert abs(stored.expires_at - sold.customer.expires_at) < dt.timedelta(seconds=1)
    assert stored.data_limit_bytes == 50 * GIB
    assert stored.note == f"order:{sold.order_id}"
    assert sold.customer.details[SUBSCRIPTION_URL].startswith(rig.harness.fake.url + "/sub/")
    assert sold.customer.external_id == "john"
    assert await _balance(rig) == (4_000, 0)
    await assert_audit_ok(rig.db)


async def test_renewal_extends_on_the_panel_from_the_current_expiry(rig: Rig) -> None:
    first = await _sell(rig, "n1", username="john")
    rig.harness.set_used("john", 3 * GIB)
    again = await _sell(rig, "n2", customer_id=first.customer.id)
    assert again.customer.expires_at == first.customer.expires_at + dt.timedelta(days=30)
    stored = rig.harness.stored("john")
    assert stored is not None and stored.expires_at is not None
    assert abs(stored.expires_at - again.customer.expires_at) < dt.timedelta(seconds=1)
    assert stored.used_bytes == 0  # the plan resets traffic on renewal
    assert await _balance(rig) == (3_000, 0)


async def test_a_panel_answering_500_charges_nothing_and_leaves_nothing_there(rig: Rig) -> None:
    rig.harness.fail_next(500)
    with pytest.raises(SaleFailed, match=r"HTTP 500.*Nothing was charged"):
        await _sell(rig, "n1", username="john")
    assert rig.harness.stored("john") is None
    assert await _balance(rig) == (5_000, 0)
    assert (await _order(rig.db)).status == OrderStatus.FAILED


async def test_a_lost_answer_holds_until_reconciliation_charges_once_and_tells(rig: Rig) -> None:
    # The panel creates the user, then its answer never arrives in time.
    rig.harness.fake.answer_next()  # the login
    rig.harness.hang_next(2)
    with pytest.raises(SaleInDoubt, match="held, not charged"):
        await _sell(rig, "n1", seconds=0.8, username="john")
    assert rig.harness.stored("john") is not None
    assert await _balance(rig) == (5_000, 1_000)
    with pytest.raises(SaleInDoubt):  # the same confirmation again charges nothing more
        await _sell(rig, "n1", username="john")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    grace = dt.timedelta(minutes=1)
    done = await reconcile.reconcile_orders(rig.db, rig.panels, now=later, older_than=grace)
    assert (done.completed, done.voided, done.unknown) == (1, 0, 0)
    again = await reconcile.reconcile_orders(rig.db, rig.panels, now=later, older_than=grace)
    assert (again.completed, again.voided) == (0, 0)
    assert await _balance(rig) == (4_000, 0)
    assert await _notices(rig.db) == ["sale_settled"]
    replay = await _sell(rig, "n1", username="john")
    assert replay.replayed and replay.customer.username == "john"
    await assert_audit_ok(rig.db)


async def test_reconciliation_voids_a_pending_order_that_is_not_on_the_panel(rig: Rig) -> None:
    rig.harness.fail_next(504)  # a gateway timeout: the panel may still be at work
    with pytest.raises(SaleInDoubt):
        await _sell(rig, "n1", username="john")
    assert rig.harness.stored("john") is None
    assert await _balance(rig) == (5_000, 1_000)
    now = dt.datetime.now(dt.UTC)
    grace = dt.timedelta(minutes=1)
    early = await reconcile.reconcile_orders(rig.db, rig.panels, now=now, older_than=grace)
    assert (early.completed, early.voided) == (0, 0)  # within the grace period: untouched
    later = now + dt.timedelta(minutes=5)
    done = await reconcile.reconcile_orders(rig.db, rig.panels, now=later, older_than=grace)
    assert (done.completed, done.voided) == (0, 1)
    assert await _balance(rig) == (5_000, 0)
    assert await _notices(rig.db) == ["sale_voided"]
    with pytest.raises(SaleFailed, match="not on panel de-1"):
        await _sell(rig, "n1", username="john")
    await assert_audit_ok(rig.db)


async def test_an_open_circuit_refuses_sales_at_once_without_holding(rig: Rig) -> None:
    for n in range(2):
        rig.harness.fail_next(504)
        with pytest.raises(SaleInDoubt):
            await _sell(rig, f"n{n}", username=f"john{n}")
    asked = len(rig.harness.fake.requests)
    held = await _balance(rig)
    with pytest.raises(SaleFailed, match="panel de-1 is not answering; nothing was charged"):
        await _sell(rig, "n9", username="mary")
    assert len(rig.harness.fake.requests) == asked  # the panel was not even asked
    assert await _balance(rig) == held


async def test_a_disabled_panel_sells_nothing(rig: Rig) -> None:
    await panels.set_enabled(rig.db, "de-1", enabled=False)
    with pytest.raises(SaleFailed, match="panel de-1 is disabled"):
        await _sell(rig, "n1", username="john")
    assert await _balance(rig) == (5_000, 0)
