"""Customers paying their own renewal in Stars, through the running bot, a fake Marzban and
the fake Bot API: the reseller's prices, ⭐ Pay and renew on /status, the payment (delivered
twice), a price changed before paying, and a panel failure refunded automatically."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from sqlalchemy import func, select

import jobs
from bot.adapters.panels.base import GIB
from bot.context import BotApplication
from bot.db import Database
from bot.services import (
    customer_links,
    ledger,
    panels,
    plans,
    resellers,
    self_pay,
    star_methods,
)
from bot.services.panel_provider import Panels
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from jobs import stars as stars_job
from models import (
    Customer,
    EntryKind,
    OrderStatus,
    ResellerStatus,
    StarPayment,
    StarState,
    SubscriptionOrder,
    Transfer,
)
from tests.conftest import ADMIN_CHAT_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, now
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness

KEY = Fernet.generate_key().decode()
ALICE, JOHN = 1001, 5005


@dataclass
class Shop:
    api: FakeBotAPI
    db: Database
    harness: MarzbanHarness
    alice: User
    john: User
    app: BotApplication
    settings: Settings


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
    """A plan on a panel (10.00 credits, 30 days), Alice with 50.00 credits, a Stars rate of
    2.00 credits per Star, and the bot running with its jobs (the outbox tells Alice)."""
    await panels.add_panel(
        db, panels.SecretBox(KEY), name="de-1", kind="marzban", base_url=marzban.fake.url,
        credentials={"username": ADMIN, "password": PASSWORD},
    )  # fmt: skip
    await plans.add_plan(
        db, code="vpn-1m", name="VPN 1 month", days=30, price=1_000, panel="de-1",
        template=marzban.template(), data_limit_bytes=50 * GIB,
    )  # fmt: skip
    await make_reseller(db, ALICE, name="Alice", credit=5_000)
    await star_methods.configure(db, code="stars", name="Telegram Stars", rate=200, now=now())
    configured = settings.model_copy(
        update={"secret_key": SecretStr(KEY), "jobs_enabled": True,
                "outbox_interval_seconds": 0.5},
    )  # fmt: skip
    async with running_bot(configured, db) as app:
        yield Shop(
            fake_api, db, marzban, fake_api.user(ALICE, "Alice"), fake_api.user(JOHN), app,
            configured,
        )  # fmt: skip


async def _tap(shop: Shop, user: User, event: Event, data: str) -> dict[str, Any]:
    return await shop.api.answer(await shop.api.tap(user, event, data))


async def _sell_and_link(shop: Shop) -> Customer:
    """Alice activates john on the panel; john's chat is linked to it."""
    api, alice = shop.api, shop.alice
    await api.send(alice, "/activate")
    await api.next_event(alice.id)
    await api.send(alice, "john")
    picker = await api.next_event(alice.id)
    await _tap(shop, alice, picker, picker.button("VPN 1 month"))
    confirm = await api.next_event(alice.id)
    await _tap(shop, alice, confirm, confirm.key("✅ Confirm"))
    assert "john activated" in (await api.next_event(alice.id)).text
    await api.next_event(alice.id)  # the QR code
    customer = await _customer(shop.db)
    assert customer.link_token is not None
    await customer_links.link(shop.db, token=customer.link_token, chat_id=JOHN, now=now())
    return customer


async def _offer_prices(shop: Shop, stars: int) -> None:
    await self_pay.set_enabled(shop.db, telegram_id=ALICE, enabled=True, actor="test", now=now())
    plan_id = (await self_pay.settings_of(shop.db, ALICE)).plans[0].plan_id
    await self_pay.set_price(
        shop.db, telegram_id=ALICE, plan_id=plan_id, stars=stars, actor="test", now=now()
    )


async def _customer(db: Database) -> Customer:
    async with db.transaction() as session:
        found = await session.scalar(select(Customer).where(Customer.username == "john"))
    assert found is not None
    return found


async def _balance(db: Database) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, ALICE)
        return await ledger.balance(session, reseller.account_id)


async def _count(db: Database, query: Any) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(query) or 0)


async def _invoice(shop: Shop) -> tuple[Event, Event]:
    """john's /status, ⭐ Pay and renew: the offer screen and the invoice."""
    api, john = shop.api, shop.john
    await api.send(john, "/status")
    status = await api.next_event(john.id)
    await _tap(shop, john, status, status.button("Pay and renew"))
    offer = await api.next_event(john.id)
    invoice = await api.next_event(john.id)
    assert invoice.method == "sendInvoice"
    return offer, invoice


async def test_a_reseller_sets_a_customer_price_from_chat_and_sees_the_conversion(
    shop: Shop,
) -> None:
    api, alice = shop.api, shop.alice
    await api.send(alice, "/selfpay")
    screen = await api.next_event(alice.id)
    assert "Status: <b>off</b>" in screen.text and "1 Star = 2.00 credits" in screen.text
    assert "VPN 1 month: not offered (your cost 10.00 credits)" in screen.text
    await _tap(shop, alice, screen, screen.button("Turn on"))
    screen = await api.next_event(alice.id)
    assert "Status: <b>on</b>" in screen.text
    await _tap(shop, alice, screen, screen.button("VPN 1 month"))
    prompt = await api.next_event(alice.id)
    assert "the least that covers it is 5 Stars" in prompt.text
    await api.send(alice, "4")
    refused = await api.next_event(alice.id)
    assert "below your cost of 10.00 credits: the least is 5 Stars" in refused.text
    await api.send(alice, "۱۵")  # Persian digits
    done = await api.next_event(alice.id)
    assert (
        "VPN 1 month: 15 Stars = 30.00 credits, your cost 10.00 credits, "
        "your margin 20.00 credits" in done.text
    )
    settings = await self_pay.settings_of(shop.db, ALICE)
    assert settings.enabled and settings.plans[0].stars == 15


async def test_a_customer_pays_and_renews_and_the_reseller_keeps_its_margin(shop: Shop) -> None:
    first = await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    assert (await _balance(shop.db)).balance == 4_000
    offer, invoice = await _invoice(shop)
    expected = first.expires_at + dt.timedelta(days=30)
    assert "To pay: <b>10 Stars</b>" in offer.text
    assert f"New expiry: <b>{expected:%Y-%m-%d}</b>" in offer.text
    assert [p["amount"] for p in shop.api.invoices[-1]["prices"]] == [10]

    message = await shop.api.pay(shop.john, invoice)
    reply = await shop.api.next_event(JOHN)
    assert f"10 Stars. <code>john</code> is renewed until <b>{expected:%Y-%m-%d}</b>" in reply.text
    assert (await _customer(shop.db)).expires_at == expected
    stored = shop.harness.stored("john")
    assert stored is not None and stored.expires_at is not None
    assert abs(stored.expires_at - expected) < dt.timedelta(seconds=2)
    told = await shop.api.next_event(ALICE)
    assert "<code>john</code> paid 10 Stars and is renewed until" in told.text
    assert "Revenue: +20.00 credits · Renewal: −10.00 credits" in told.text
    assert "Your margin: 10.00 credits" in told.text
    # 40.00 after the activation, +20.00 revenue, -10.00 for the renewal.
    assert (await _balance(shop.db)).balance == 5_000

    await shop.api.deliver_again(message)  # Telegram repeats the update
    await asyncio.sleep(1.0)
    assert shop.api.unread(JOHN) == [] and shop.api.unread(ALICE) == []
    assert (await _balance(shop.db)).balance == 5_000
    revenue = (
        select(func.count()).select_from(Transfer).where(Transfer.kind == EntryKind.STARS_REVENUE)
    )
    renewals = (
        select(func.count())
        .select_from(SubscriptionOrder)
        .where(
            SubscriptionOrder.kind == "renewal", SubscriptionOrder.status == OrderStatus.COMPLETED
        )
    )
    assert await _count(shop.db, revenue) == 1 and await _count(shop.db, renewals) == 1
    assert (await _customer(shop.db)).expires_at == expected
    await assert_audit_ok(shop.db)


async def test_pre_checkout_is_refused_after_the_price_changed_and_a_new_invoice_follows(
    shop: Shop,
) -> None:
    await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    _, invoice = await _invoice(shop)
    await _offer_prices(shop, 12)
    answered = await shop.api.pre_checkout(shop.john, invoice)
    assert answered["ok"] is False
    assert "The price changed since this invoice; nothing was charged" in answered["error_message"]
    fresh = await shop.api.next_event(JOHN)
    assert "The price changed" in fresh.text and "To pay: <b>12 Stars</b>" in fresh.text
    again = await shop.api.next_event(JOHN)
    assert again.method == "sendInvoice" and again.message["invoice"]["total_amount"] == 12
    assert (await _balance(shop.db)).balance == 4_000  # nothing moved
    await shop.api.pay(shop.john, again)
    assert "is renewed until" in (await shop.api.next_event(JOHN)).text
    await assert_audit_ok(shop.db)


async def test_a_renewal_the_panel_refuses_is_refunded_automatically(shop: Shop) -> None:
    first = await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    _, invoice = await _invoice(shop)
    shop.harness.fail_next(500)  # the renewal; asked, the panel has not extended john
    await shop.api.pay(shop.john, invoice)
    reply = await shop.api.next_event(JOHN)
    assert "could not be renewed now, so your 10 Stars were refunded" in reply.text
    assert (await _customer(shop.db)).expires_at == first.expires_at
    balance = await _balance(shop.db)
    assert (balance.balance, balance.held) == (4_000, 0)  # the revenue taken back
    refunds = [tx for tx in shop.api.star_transactions if "receiver" in tx]
    assert len(refunds) == 1 and refunds[0]["amount"] == 10
    async with shop.db.transaction() as session:
        payment = await session.scalar(select(StarPayment))
    assert payment is not None and payment.state == StarState.REFUNDED
    told = await shop.api.next_event(ALICE)
    assert "paid 10 Stars for a renewal that could not be done" in told.text
    group = await shop.api.next_event(ADMIN_CHAT_ID)
    assert "was refunded automatically" in group.text and "<b>Alice</b>" in group.text
    await assert_audit_ok(shop.db)


async def test_a_renewal_the_panel_never_answers_is_refunded_once_reconciliation_releases_it(
    shop: Shop,
) -> None:
    first = await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    _, invoice = await _invoice(shop)
    shop.harness.fail_next(500, times=3)  # the renewal, and asking the panel about it
    message = await shop.api.pay(shop.john, invoice)
    waiting = await shop.api.next_event(JOHN)
    assert "The renewal is being confirmed with the provider" in waiting.text
    balance = await _balance(shop.db)
    assert (balance.balance, balance.held) == (6_000, 1_000)  # revenue in, the price held
    # Nothing to refund while the order is in flight.
    assert await stars_job.refund_released_renewals(
        shop.db, shop.app.bot, admin_chat_id=ADMIN_CHAT_ID, now=now()
    ) == 0  # fmt: skip

    later = now() + dt.timedelta(hours=1)
    panels_ = shop.app.bot_data["panels"]
    assert isinstance(panels_, Panels)
    done = await jobs.run_reconciliation(shop.db, panels_, shop.settings, later)
    assert done.voided == 1  # the panel, asked, never extended john
    assert await stars_job.refund_released_renewals(
        shop.db, shop.app.bot, admin_chat_id=ADMIN_CHAT_ID, now=now()
    ) == 1  # fmt: skip
    told = await shop.api.next_event(JOHN)  # through the outbox
    assert "so your 10 Stars were refunded" in told.text
    group = await shop.api.next_event(ADMIN_CHAT_ID)
    assert "could not be done (the provider refused or failed)" in group.text
    balance = await _balance(shop.db)
    assert (balance.balance, balance.held) == (4_000, 0)
    assert (await _customer(shop.db)).expires_at == first.expires_at
    refunds = [tx for tx in shop.api.star_transactions if "receiver" in tx]
    assert len(refunds) == 1
    # Again, and the payment delivered again: nothing more.
    assert await stars_job.refund_released_renewals(
        shop.db, shop.app.bot, admin_chat_id=ADMIN_CHAT_ID, now=now()
    ) == 0  # fmt: skip
    await shop.api.deliver_again(message)
    await asyncio.sleep(1.0)
    assert len([tx for tx in shop.api.star_transactions if "receiver" in tx]) == 1
    await assert_audit_ok(shop.db)


async def test_a_stars_subscription_renews_each_period_once_until_the_customer_stops_it(
    shop: Shop,
) -> None:
    api, john = shop.api, shop.john
    first = await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    offer, _ = await _invoice(shop)
    await _tap(shop, john, offer, offer.button("Renew every 30 days"))
    terms = await api.next_event(JOHN)
    assert "<b>10 Stars</b> now, then every 30 days" in terms.text
    link = list(api.invoice_links)[-1]
    assert int(api.invoice_links[link]["subscription_period"]) == 2_592_000
    assert ("⭐ Subscribe (10 Stars)", link) in [
        (b["text"], b.get("url")) for row in terms.message["reply_markup"]["inline_keyboard"]
        for b in row
    ]  # fmt: skip

    await api.subscribe(john, link)
    period_1 = first.expires_at + dt.timedelta(days=30)
    assert f"renewed until <b>{period_1:%Y-%m-%d}</b>" in (await api.next_event(JOHN)).text
    second = await api.next_period(john, link)
    assert second is not None
    period_2 = period_1 + dt.timedelta(days=30)
    assert f"renewed until <b>{period_2:%Y-%m-%d}</b>" in (await api.next_event(JOHN)).text
    await api.deliver_again(second)  # the same charge again: renews nothing more
    await asyncio.sleep(1.0)
    assert api.unread(JOHN) == []
    assert (await _customer(shop.db)).expires_at == period_2
    # 40.00 after the activation; each period +20.00 revenue -10.00 renewal.
    assert (await _balance(shop.db)).balance == 6_000

    await api.send(john, "/status")
    status = await api.next_event(JOHN)
    assert "Renewed automatically with Telegram Stars (10 Stars every 30 days)" in status.text
    await _tap(shop, john, status, status.button("Stop automatic renewal"))
    stopped = await api.next_event(JOHN)
    assert "Automatic renewal stopped" in stopped.text
    assert next(iter(api.subscriptions.values()))["canceled"] is True
    assert await api.next_period(john, link) is None  # Telegram charges no more
    assert (await _customer(shop.db)).expires_at == period_2
    revenue = (
        select(func.count()).select_from(Transfer).where(Transfer.kind == EntryKind.STARS_REVENUE)
    )
    assert await _count(shop.db, revenue) == 2
    await api.send(john, "/status")
    assert "Renewed automatically" not in (await api.next_event(JOHN)).text
    await assert_audit_ok(shop.db)


async def test_pre_checkout_is_refused_once_the_reseller_is_suspended_or_the_chat_unlinked(
    shop: Shop,
) -> None:
    await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    _, invoice = await _invoice(shop)
    await resellers.set_status(
        shop.db, telegram_id=ALICE, status=ResellerStatus.SUSPENDED, actor="test", now=now(),
        reason="unpaid",
    )  # fmt: skip
    answered = await shop.api.pre_checkout(shop.john, invoice)
    assert answered["ok"] is False
    assert "Your reseller cannot renew subscriptions right now" in answered["error_message"]
    await resellers.set_status(
        shop.db, telegram_id=ALICE, status=ResellerStatus.ACTIVE, actor="test", now=now(),
        reason="paid",
    )  # fmt: skip
    await customer_links.unlink_chat(shop.db, JOHN, now=now())
    answered = await shop.api.pre_checkout(shop.john, invoice)
    assert answered["ok"] is False
    assert "no longer linked to the subscription" in answered["error_message"]
    assert await _count(shop.db, select(func.count()).select_from(StarPayment).where(
        StarPayment.state == StarState.PAID
    )) == 0  # fmt: skip
