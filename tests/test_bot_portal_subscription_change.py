"""A change of package approved while a Stars subscription renews the old plan, through the
running bot, a fake Marzban and the fake Bot API: Approve cancels the subscription at
Telegram and the customer is told; a charge that still comes for the old plan is refunded
(revenue taken back), the package stays the new one, and the subscription is cancelled."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.db import Database
from bot.services import (
    plan_changes,
    plans,
    sale_errors,
    sale_settlement,
    sales,
    star_methods,
    star_renewal_outcome,
    star_subscriptions,
)
from bot.services.provisioning import LocalProvider
from handlers.portal import callbacks
from models import (
    ChangeStatus,
    Customer,
    EntryKind,
    OutboxMessage,
    PlanChangeRequest,
    StarPayment,
    StarState,
    StarSubscription,
    SubscriptionOrder,
    SubscriptionState,
    Transfer,
)
from tests.fake_bot_api import Event
from tests.helpers import assert_audit_ok, tap
from tests.stars_setup import (  # noqa: F401  (the fixtures)
    ALICE,
    JOHN,
    Shop,
    _balance,
    _count,
    _customer,
    change_screen,
    linked_with_prices,
    marzban,
    refunds_made,
    shop,
    subscribe,
)
from tests.test_portal_services import CHAT, NOW, _shop


async def _ask_and_approve(s: Shop, customer_id: int, plan_id: int) -> Event:
    """john asks for VPN Plus (a request: no Stars price while the subscription renews);
    Alice approves it from the notice. Her screen after Approve."""
    screen = await change_screen(s, customer_id)
    asked = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(customer_id, plan_id))
    assert "asked to change your package to VPN Plus" in asked.text
    notice = await s.api.next_event(ALICE)
    while "asks to change" not in notice.text:  # the renewals' notices before it
        notice = await s.api.next_event(ALICE)
    approve = next(d for label, d in notice.buttons if "Approve" in label)
    return await tap(s.api, s.alice, notice, approve)


async def _subscriptions(s: Shop) -> list[StarSubscription]:
    async with s.db.transaction() as session:
        return list(
            await session.scalars(
                select(StarSubscription)
                .order_by(StarSubscription.id)
                .execution_options(populate_existing=True)
            )
        )


async def _charges(s: Shop) -> list[StarPayment]:
    async with s.db.transaction() as session:
        return list(
            await session.scalars(
                select(StarPayment)
                .where(StarPayment.subscription_id.is_not(None))
                .order_by(StarPayment.id)
                .execution_options(populate_existing=True)
            )
        )


def _refunded(s: Shop, charge_id: str | None) -> bool:
    return any(tx["id"] == charge_id and "receiver" in tx for tx in s.api.star_transactions)


async def _next_charge_refunded(s: Shop, link: str, plus: int) -> None:
    """The next period's charge (for VPN 1 month) is refunded, not sold: the package stays
    VPN Plus, its revenue is taken back, and the subscription is cancelled at Telegram."""
    before = await _balance(s.db)
    expires = (await _customer(s.db)).expires_at
    charged = await s.api.next_period(s.john, link)
    assert charged is not None
    told = await s.api.next_event(JOHN)
    assert "but your package has changed: the Stars were given back" in told.text
    customer = await _customer(s.db)
    assert (customer.plan_id, customer.expires_at) == (plus, expires)
    first, second = await _charges(s)
    assert first.state == StarState.PAID
    assert second.state == StarState.REFUNDED
    assert second.refund_reason == f"renewal not done: {star_renewal_outcome.PLAN_CHANGED}"
    assert second.refund_transfer_id is not None and second.refund_shortfall == 0
    assert _refunded(s, second.telegram_payment_charge_id)
    assert (await _balance(s.db)).balance == before.balance  # +20.00 revenue, -20.00 back
    revenue = (
        select(func.count()).select_from(Transfer).where(Transfer.kind == EntryKind.STARS_REVENUE)
    )
    assert await _count(s.db, revenue) == 2
    assert next(iter(s.api.subscriptions.values()))["canceled"] is True
    assert [x.state for x in await _subscriptions(s)] == [SubscriptionState.CANCELLED]
    reseller_told = await s.api.next_event(ALICE)
    while "could not be done" not in reseller_told.text:  # the notices before it
        reseller_told = await s.api.next_event(ALICE)
    assert (
        "(the customer has changed package since; automatic renewal stopped). "
        "The Stars were refunded and the revenue taken back." in reseller_told.text
    )
    await asyncio.sleep(1.0)
    await s.api.deliver_again(charged)  # the same charge again: refunded once, said once
    await asyncio.sleep(1.0)
    assert s.api.unread(JOHN) == []
    assert len(refunds_made(s.api)) == 1


async def test_approve_stops_the_old_plans_subscription_and_a_charge_still_sent_is_refunded(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s)
    link = await subscribe(s)
    # 40.00 after the activation, +20.00 revenue -10.00 renewal.
    assert (await _balance(s.db)).balance == 5_000

    done = await _ask_and_approve(s, first.id, ids["plus"])
    assert "VPN Plus" in done.text
    assert next(iter(s.api.subscriptions.values()))["canceled"] is True
    (sub,) = await _subscriptions(s)
    assert sub.state == SubscriptionState.CANCELLED and sub.cancelled_at is not None
    assert (await _customer(s.db)).plan_id == ids["plus"]
    assert (await _balance(s.db)).balance == 3_500  # VPN Plus sold at 15.00
    told = await s.api.next_event(JOHN)
    assert "Your package is now VPN Plus" in told.text
    assert "Automatic renewal of VPN 1 month with Telegram Stars stopped" in told.text
    assert "To renew VPN Plus, tap ⭐ Pay and renew in /status" in told.text
    assert await s.api.next_period(s.john, link) is None  # Telegram charges no more
    await s.api.send(s.john, "/status")
    assert "Renewed automatically" not in (await s.api.next_event(JOHN)).text

    # Had Telegram charged once more all the same (a charge already on its way), the
    # charge would sell VPN 1 month again: it is refunded instead.
    next(iter(s.api.subscriptions.values()))["canceled"] = False
    await _next_charge_refunded(s, link, ids["plus"])
    await assert_audit_ok(s.db)


async def test_a_cancel_telegram_refuses_at_approve_leaves_the_refund_as_the_safety_net(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s)
    link = await subscribe(s)
    s.api.fail("editUserStarSubscription", 400, "Bad Request: CHARGE_ID_INVALID")

    done = await _ask_and_approve(s, first.id, ids["plus"])
    assert "VPN Plus" in done.text
    assert next(iter(s.api.subscriptions.values()))["canceled"] is False
    assert [x.state for x in await _subscriptions(s)] == [SubscriptionState.ACTIVE]
    async with s.db.transaction() as session:
        request = await session.scalar(select(PlanChangeRequest))
    assert request is not None and request.status == ChangeStatus.APPROVED
    assert (await _customer(s.db)).plan_id == ids["plus"]
    assert "Automatic renewal of VPN 1 month" in (await s.api.next_event(JOHN)).text

    await _next_charge_refunded(s, link, ids["plus"])
    assert await s.api.next_period(s.john, link) is None
    await assert_audit_ok(s.db)


async def test_a_change_with_no_subscription_says_nothing_of_automatic_renewal(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    # VPN Plus has no Stars price: asked of Alice.
    first, ids = await linked_with_prices(s, **{"1m": 10})
    await _ask_and_approve(s, first.id, ids["plus"])
    told: Any = await s.api.next_event(JOHN)
    assert "Your package is now VPN Plus" in told.text
    assert "Automatic renewal" not in told.text
    assert await _subscriptions(s) == []


async def test_approve_names_the_subscription_to_stop_until_it_is_cancelled(
    db: Database,
) -> None:
    """The service's side: only an active subscription already charged, renewing the
    plan left, is to stop; a second tap names it again until it is marked cancelled."""
    cid = (await _shop(db, "john"))["john"]
    hd = await plans.add_plan(db, code="hd", name="HD", days=30, price=1_500)
    method = await star_methods.configure(db, code="stars", name="Stars", rate=200, now=NOW)
    async with db.transaction() as session:
        customer = await session.get(Customer, cid)
        assert customer is not None
        row = StarSubscription(
            reseller_id=customer.reseller_id, customer_id=cid, plan_id=customer.plan_id,
            method_id=method.id, stars=10, rate=200, payload="ss:x", payer_telegram_id=CHAT,
            state=SubscriptionState.PENDING, created_at=NOW,
        )  # fmt: skip
        session.add(row)
    request = await plan_changes.request_change(
        db, chat_id=CHAT, customer_id=cid, plan_id=hd.id, now=NOW
    )

    async def approve() -> plan_changes.Approved:
        return await plan_changes.approve(
            db, LocalProvider(), None, telegram_id=1001, request_id=request.id, now=NOW,
            provider_seconds=5, expected_price=1_500,
        )  # fmt: skip

    async with db.transaction() as session:  # never paid: Telegram has nothing to cancel
        assert await star_subscriptions.renewing_another_plan(session, cid, hd.id) is None
        await session.execute(
            update(StarSubscription).values(state=SubscriptionState.ACTIVE, first_charge_id="ch1")
        )
    done = await approve()
    assert done.to_stop is not None and done.to_stop.first_charge_id == "ch1"
    again = await approve()  # a second tap: nothing sold again, the stop tried again
    assert again.sale.replayed and again.to_stop == done.to_stop
    async with db.transaction() as session:
        payload = await session.scalar(
            select(OutboxMessage.payload).where(OutboxMessage.kind == plan_changes.DECIDED_KIND)
        )
    assert payload is not None and json.loads(payload)["stopped_plan"] == "IPTV"
    assert await star_subscriptions.mark_cancelled(db, subscription_id=done.to_stop.id, now=NOW)
    assert (await approve()).to_stop is None


async def test_a_renewal_of_a_plan_left_is_refused_in_the_sales_own_transaction(
    db: Database,
) -> None:
    """Checked where the price would be held, so a change of package landing just before
    the charge's sale cannot be undone by it: nothing held, no order."""
    cid = (await _shop(db, "john"))["john"]
    hd = await plans.add_plan(db, code="hd", name="HD", days=30, price=1_500)
    async with db.transaction() as session:
        customer = await session.get(Customer, cid)
        assert customer is not None
        iptv = customer.plan_id
        await session.execute(update(Customer).values(plan_id=hd.id))

    async def renew(key: str) -> sale_settlement.SaleResult:
        return await sales.sell(
            db, LocalProvider(), telegram_id=1001, plan_id=iptv, key=key, now=NOW,
            provider_seconds=5, customer_id=cid, same_plan_only=True,
        )  # fmt: skip

    with pytest.raises(sale_errors.PlanChanged):
        await renew("charge-1")
    orders = select(func.count()).select_from(SubscriptionOrder)
    async with db.transaction() as session:
        assert await session.scalar(orders) == 1  # john's activation alone
        await session.execute(update(Customer).values(plan_id=iptv))
    assert (await renew("charge-2")).customer.plan.id == iptv  # its own plan: renewed
