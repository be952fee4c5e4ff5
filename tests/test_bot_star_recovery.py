"""A customer's Stars payment recorded just before the bot stopped (its renewal or change
of package never started, its refund never asked): the recovery job, run later, completes
it as the live path would have, through the running bot and the fake Bot API: the sale
or the refund, the notices (the customer's through the outbox), and nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import func, select

from bot.services import star_renewals
from bot.services.stars import Payment
from handlers.portal import callbacks
from jobs import stars as stars_job
from models import OrderStatus, StarPayment, StarPurpose, StarState, SubscriptionOrder
from tests.conftest import ADMIN_CHAT_ID
from tests.fake_bot_api import Event
from tests.helpers import assert_audit_ok, now, tap
from tests.test_bot_portal_paid_change import _change_screen, _plans, _prices
from tests.test_bot_star_renewals import (  # noqa: F401  (the fixtures)
    ALICE,
    JOHN,
    Shop,
    _balance,
    _count,
    _customer,
    _invoice,
    _offer_prices,
    _sell_and_link,
    marzban,
    shop,
)

EARLIER = dt.timedelta(minutes=3)  # past the job's grace (the outbox sends at the real time)


async def _paid_then_stopped(s: Shop, invoice: Event, purpose: StarPurpose) -> Payment:
    """Telegram takes the Stars and the bot records the payment, then stops before its
    sale (or its refund) starts: the update is not delivered again."""
    assert (await s.api.pre_checkout(s.john, invoice))["ok"] is True
    paid: dict[str, Any] = s.api.charge(s.john, invoice)
    recorded = await star_renewals.record_payment(
        s.db, charge_id=paid["telegram_payment_charge_id"],
        provider_charge_id=paid["provider_payment_charge_id"],
        payload=paid["invoice_payload"], total_amount=paid["total_amount"],
        currency=paid["currency"], now=now() - EARLIER, purpose=purpose,
    )  # fmt: skip
    return recorded.payment


async def _recover(s: Shop, at: dt.datetime) -> int:
    return await stars_job.complete_stranded_payments(
        s.db, s.app.bot, s.app.bot_data["provider"], s.app.bot_data.get("panels"),
        s.settings, now=at,
    )  # fmt: skip


async def _state(s: Shop, payment_id: int) -> StarState:
    async with s.db.transaction() as session:
        found = await session.scalar(
            select(StarPayment.state)
            .where(StarPayment.id == payment_id)
            .execution_options(populate_existing=True)
        )
    assert found is not None
    return StarState(found)


async def _orders(s: Shop, payment_id: int) -> int:
    return await _count(
        s.db,
        select(func.count())
        .select_from(SubscriptionOrder)
        .where(SubscriptionOrder.idempotency_key == f"stars-renewal:{payment_id}"),
    )


async def test_a_renewal_paid_just_before_a_crash_is_done_by_the_job_and_told_once(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first = await _sell_and_link(s)
    await _offer_prices(s, 10)
    _, invoice = await _invoice(s)
    payment = await _paid_then_stopped(s, invoice, StarPurpose.RENEWAL)
    assert (await _balance(s.db)).balance == 6_000  # the revenue in, nothing sold yet
    # A payment this recent may still be in hand: left alone.
    assert await _recover(s, now() - EARLIER + dt.timedelta(minutes=1)) == 0
    assert await _orders(s, payment.id) == 0

    assert await _recover(s, now()) == 1
    expected = first.expires_at + dt.timedelta(days=30)
    assert (await _customer(s.db)).expires_at == expected
    told = await s.api.next_event(JOHN)  # through the outbox: he is not there to answer
    assert f"10 Stars. <code>john</code> is renewed until <b>{expected:%Y-%m-%d}</b>" in told.text
    alice = await s.api.next_event(ALICE)
    assert "<code>john</code> paid 10 Stars and is renewed until" in alice.text
    assert (await _balance(s.db)).balance == 5_000
    assert await _state(s, payment.id) == StarState.PAID and await _orders(s, payment.id) == 1

    # Again: nothing is sold, refunded or said twice.
    assert await _recover(s, now() + EARLIER) == 0
    await asyncio.sleep(1.0)
    assert s.api.unread(JOHN) == [] and s.api.unread(ALICE) == []
    assert (await _balance(s.db)).balance == 5_000
    assert (await _customer(s.db)).expires_at == expected
    assert [tx for tx in s.api.star_transactions if "receiver" in tx] == []
    await assert_audit_ok(s.db)


async def test_a_renewal_that_cannot_be_done_after_a_crash_is_refunded_by_the_job_once(
    shop: Shop,  # noqa: F811
) -> None:
    """The plan was withdrawn meanwhile: the sale is refused, as the live path would have
    seen it, and the Stars go back with the revenue; the customer hears it in words."""
    from bot.services import plans

    s = shop
    first = await _sell_and_link(s)
    await _offer_prices(s, 10)
    _, invoice = await _invoice(s)
    payment = await _paid_then_stopped(s, invoice, StarPurpose.RENEWAL)
    await plans.set_plan_active(s.db, plan_id=first.plan_id, active=False, actor="test", now=now())
    assert await _recover(s, now()) == 1
    assert await _state(s, payment.id) == StarState.REFUNDED
    refunds = [tx for tx in s.api.star_transactions if "receiver" in tx]
    assert len(refunds) == 1 and refunds[0]["amount"] == 10
    told = await s.api.next_event(JOHN)
    assert "could not be renewed now, so your 10 Stars were refunded" in told.text
    alice = await s.api.next_event(ALICE)
    assert "paid 10 Stars for a renewal that could not be done" in alice.text
    group = await s.api.next_event(ADMIN_CHAT_ID)
    assert "was refunded automatically" in group.text
    balance = await _balance(s.db)
    assert (balance.balance, balance.held) == (4_000, 0)  # the revenue taken back
    assert (await _customer(s.db)).expires_at == first.expires_at

    assert await _recover(s, now() + EARLIER) == 0
    await asyncio.sleep(1.0)
    assert s.api.unread(JOHN) == [] and s.api.unread(ALICE) == []
    assert len([tx for tx in s.api.star_transactions if "receiver" in tx]) == 1
    await assert_audit_ok(s.db)


async def test_a_change_of_package_paid_just_before_a_crash_is_made_by_the_job(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first = await _sell_and_link(s)
    ids = await _plans(s)
    await _prices(s, ids, **{"1m": 10, "plus": 15})
    screen = await _change_screen(s, first.id)
    pay_screen = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(first.id, ids["plus"]))
    pay = callbacks.CHANGE_PAY.build(first.id, ids["plus"])
    await s.api.answer(await s.api.tap(s.john, pay_screen, pay))
    invoice = await s.api.next_event(JOHN)
    payment = await _paid_then_stopped(s, invoice, StarPurpose.PLAN_CHANGE)

    assert await _recover(s, now()) == 1
    expected = first.expires_at + dt.timedelta(days=30)
    found = await _customer(s.db)
    assert found.plan_id == ids["plus"] and found.expires_at == expected
    told = await s.api.next_event(JOHN)
    assert f"20 Stars. <code>john</code> is now on VPN Plus, until <b>{expected:%Y-%m-%d}</b>" in (
        told.text
    )
    assert "changed from VPN 1 month to VPN Plus" in (await s.api.next_event(ALICE)).text
    completed = (
        select(func.count())
        .select_from(SubscriptionOrder)
        .where(SubscriptionOrder.status == OrderStatus.COMPLETED)
    )
    assert await _count(s.db, completed) == 2  # the activation and the change
    assert await _recover(s, now() + EARLIER) == 0
    await asyncio.sleep(1.0)
    assert s.api.unread(JOHN) == [] and s.api.unread(ALICE) == []
    assert await _count(s.db, completed) == 2
    assert await _state(s, payment.id) == StarState.PAID
    await assert_audit_ok(s.db)
