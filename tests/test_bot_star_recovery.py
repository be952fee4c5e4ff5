"""A customer's Stars payment recorded just before the bot stopped (its renewal or change
of package never started, its refund never asked): the recovery job, run later, completes
it as the live path would have, through the running bot and the fake Bot API: the sale
or the refund, the notices (the customer's through the outbox), and nothing twice."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from jobs import stars as stars_job
from models import OrderStatus, StarPurpose, StarState, SubscriptionOrder
from tests.conftest import ADMIN_CHAT_ID
from tests.helpers import assert_audit_ok, now
from tests.stars_setup import (  # noqa: F401  (the fixtures)
    ALICE,
    EARLIER,
    JOHN,
    Shop,
    _balance,
    _count,
    _customer,
    change_invoice,
    linked_with_prices,
    marzban,
    paid_then_stopped,
    payment_state,
    refunds_made,
    renewal_paid_then_stopped,
    shop,
)


async def _recover(s: Shop, at: dt.datetime) -> int:
    return await stars_job.complete_stranded_payments(
        s.db, s.app.bot, s.app.bot_data["provider"], s.app.bot_data.get("panels"),
        s.settings, now=at,
    )  # fmt: skip


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
    first, payment = await renewal_paid_then_stopped(s)
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
    assert (
        await payment_state(s, payment.id) == StarState.PAID and await _orders(s, payment.id) == 1
    )

    # Again: nothing is sold, refunded or said twice.
    assert await _recover(s, now() + EARLIER) == 0
    await asyncio.sleep(1.0)
    assert s.api.unread(JOHN) == [] and s.api.unread(ALICE) == []
    assert (await _balance(s.db)).balance == 5_000
    assert (await _customer(s.db)).expires_at == expected
    assert refunds_made(s.api) == []
    await assert_audit_ok(s.db)


async def test_a_renewal_that_cannot_be_done_after_a_crash_is_refunded_by_the_job_once(
    shop: Shop,  # noqa: F811
) -> None:
    """The plan was withdrawn meanwhile: the sale is refused, as the live path would have
    seen it, and the Stars go back with the revenue; the customer hears it in words."""
    from bot.services import plans

    s = shop
    first, payment = await renewal_paid_then_stopped(s)
    await plans.set_plan_active(s.db, plan_id=first.plan_id, active=False, actor="test", now=now())
    assert await _recover(s, now()) == 1
    assert await payment_state(s, payment.id) == StarState.REFUNDED
    refunds = refunds_made(s.api)
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
    assert len(refunds_made(s.api)) == 1
    await assert_audit_ok(s.db)


async def test_a_change_of_package_paid_just_before_a_crash_is_made_by_the_job(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s)
    _, invoice, _ = await change_invoice(s, first.id, ids["plus"])
    payment = await paid_then_stopped(s, invoice, StarPurpose.PLAN_CHANGE)

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
    assert await payment_state(s, payment.id) == StarState.PAID
    await assert_audit_ok(s.db)
