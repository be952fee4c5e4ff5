"""A customer pays its own change of package in Stars, through the running bot, a fake
Marzban and the fake Bot API: the price with the days left, the payment (delivered twice),
a price changed before paying, the panel failing (refunded), forged and stale buttons,
another chat's subscription, a cheaper plan (asked of the reseller), and self-service off.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.services import cancellation, self_pay, star_renewals
from bot.services.star_changes import extra_for_days_left
from handlers.portal import callbacks
from models import (
    ChangeStatus,
    CustomerStatus,
    EntryKind,
    OrderStatus,
    PlanChangeRequest,
    StarPayment,
    StarPurpose,
    StarState,
    SubscriptionOrder,
    Transfer,
)
from tests.conftest import ADMIN_CHAT_ID
from tests.fake_bot_api import Event
from tests.helpers import assert_audit_ok, now, tap
from tests.stars_setup import (  # noqa: F401  (the fixtures)
    ALICE,
    JOHN,
    Shop,
    _balance,
    _count,
    _customer,
    alert,
    change_invoice,
    change_screen,
    linked_with_prices,
    marzban,
    refunds_made,
    renewal_invoice,
    set_prices,
    shop,
    subscribe,
)


async def _payments(s: Shop) -> list[StarPayment]:
    async with s.db.transaction() as session:
        return list(
            await session.scalars(
                select(StarPayment)
                .where(StarPayment.purpose == StarPurpose.PLAN_CHANGE)
                .order_by(StarPayment.id)
                .execution_options(populate_existing=True)
            )
        )


def test_the_days_left_cost_the_difference_per_day_rounded_up_and_never_a_credit() -> None:
    same = {"plan_days": 30, "current_days": 30}
    assert extra_for_days_left(29, plan_stars=15, current_stars=10, **same) == 5  # 4.83
    assert extra_for_days_left(0, plan_stars=15, current_stars=10, **same) == 0
    assert extra_for_days_left(30, plan_stars=10, current_stars=10, **same) == 0
    # 90 days for 24 Stars is cheaper per day than 30 for 10: nothing added, nothing off.
    assert (
        extra_for_days_left(29, plan_stars=24, plan_days=90, current_stars=10, current_days=30) == 0
    )


async def test_a_customer_pays_the_difference_and_the_package_changes_at_once(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s, **{"1m": 10, "plus": 15, "lite": 8})
    assert (await _balance(s.db)).balance == 4_000
    screen = await change_screen(s, first.id)
    labels = [label for label, _ in screen.buttons]
    # 29 whole days left at (15 - 10) / 30 Stars a day: 4.83, rounded up to 5.
    assert "VPN Plus (30 days) · 20 Stars" in labels
    assert "VPN Lite (30 days)" in labels  # cheaper: asked of the reseller, no price
    assert "credits" not in screen.text and "10.00" not in screen.text
    pay_screen = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(first.id, ids["plus"]))
    expected = first.expires_at + dt.timedelta(days=30)
    assert "VPN 1 month → <b>VPN Plus</b>" in pay_screen.text
    assert "New package: 15 Stars" in pay_screen.text
    assert "Your 29 days left, on the dearer package: +5 Stars" in pay_screen.text
    assert "To pay: <b>20 Stars</b>" in pay_screen.text
    assert f"New expiry: <b>{expected:%Y-%m-%d}</b>" in pay_screen.text
    assert "credits" not in pay_screen.text
    pay = callbacks.CHANGE_PAY.build(first.id, ids["plus"])
    await s.api.answer(await s.api.tap(s.john, pay_screen, pay))
    invoice = await s.api.next_event(JOHN)
    assert invoice.method == "sendInvoice" and invoice.message["invoice"]["total_amount"] == 20
    assert await _count(s.db, select(func.count()).select_from(PlanChangeRequest)) == 0

    message = await s.api.pay(s.john, invoice)
    reply = await s.api.next_event(JOHN)
    assert (
        f"20 Stars. <code>john</code> is now on VPN Plus, until <b>{expected:%Y-%m-%d}</b>"
        in reply.text
    )
    found = await _customer(s.db)
    assert found.plan_id == ids["plus"] and found.expires_at == expected
    stored = s.harness.stored("john")
    assert stored is not None and stored.expires_at is not None
    assert abs(stored.expires_at - expected) < dt.timedelta(seconds=2)
    told = await s.api.next_event(ALICE)
    assert "<code>john</code> paid 20 Stars and changed from VPN 1 month to VPN Plus" in told.text
    assert "Revenue: +40.00 credits · New package: −15.00 credits" in told.text
    # 40.00 after the activation, +40.00 revenue, -15.00 for the new package.
    assert (await _balance(s.db)).balance == 6_500
    [paid] = await _payments(s)
    assert (paid.state, paid.stars, paid.credits) == (StarState.PAID, 20, 4_000)

    await s.api.deliver_again(message)  # Telegram repeats the update: nothing more
    await asyncio.sleep(1.0)
    assert s.api.unread(JOHN) == [] and s.api.unread(ALICE) == []
    assert (await _balance(s.db)).balance == 6_500
    revenue = (
        select(func.count()).select_from(Transfer).where(Transfer.kind == EntryKind.STARS_REVENUE)
    )
    orders = (
        select(func.count())
        .select_from(SubscriptionOrder)
        .where(
            SubscriptionOrder.idempotency_key == f"stars-renewal:{paid.id}",
            SubscriptionOrder.status == OrderStatus.COMPLETED,
        )
    )
    assert await _count(s.db, revenue) == 1 and await _count(s.db, orders) == 1
    # The old invoice's button again: the plan is now the customer's own.
    stale = await alert(s.api, s.john, pay_screen, pay)
    assert "not available" in stale
    # Payments: what John paid, and Alice's Stars price list for what she did; never
    # what either cost her (10.00 and 15.00 credits).
    lines = await _payment_lines(s, first.id)
    assert "change of package: VPN Plus, 30 days" in lines[0]
    assert lines[0].endswith(" · you paid 20 Stars")
    assert "activation: VPN 1 month" in lines[1] and lines[1].endswith(" · price list: 10 Stars")
    await assert_audit_ok(s.db)


async def _payment_lines(s: Shop, cid: int) -> list[str]:
    await s.api.send(s.john, "/start")
    home = await s.api.next_event(JOHN)
    shown = await tap(s.api, s.john, home, callbacks.PAYMENTS.build(cid, 0))
    assert "credits" not in shown.text and "10.00" not in shown.text
    assert "15.00" not in shown.text
    return [line for line in shown.text.split("\n") if line.startswith("• ")]


async def test_pre_checkout_after_a_price_change_is_refused_and_a_new_invoice_follows(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s)
    _, invoice, _ = await change_invoice(s, first.id, ids["plus"])
    await set_prices(s, ids, plus=18)  # 18 + 29 * 8 / 30 = 25.7: 26
    answered = await s.api.pre_checkout(s.john, invoice)
    assert answered["ok"] is False and "The price changed" in answered["error_message"]
    fresh = await s.api.next_event(JOHN)
    assert "The price changed" in fresh.text and "To pay: <b>26 Stars</b>" in fresh.text
    again = await s.api.next_event(JOHN)
    assert again.method == "sendInvoice" and again.message["invoice"]["total_amount"] == 26
    assert (await _balance(s.db)).balance == 4_000 and (await _customer(s.db)).plan_id == ids["1m"]
    # A forged amount on the new invoice is refused too (and yet another invoice follows).
    forged = await s.api.pre_checkout(s.john, again, total_amount=1)
    assert forged["ok"] is False
    assert "To pay: <b>26 Stars</b>" in (await s.api.next_event(JOHN)).text
    third = await s.api.next_event(JOHN)
    assert third.method == "sendInvoice"
    # Cancelled before paying: refused, nothing taken.
    await cancellation.cancel(
        s.db, chat_id=JOHN, customer_id=first.id, reason="price", note=None, now=now()
    )
    answered = await s.api.pre_checkout(s.john, third)
    assert answered["ok"] is False and "cannot be paid here now" in answered["error_message"]
    assert [p.state for p in await _payments(s)] == [StarState.INVOICED] * 3
    await assert_audit_ok(s.db)


async def test_a_change_the_panel_refuses_is_refunded_and_the_revenue_taken_back(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s)
    _, invoice, _ = await change_invoice(s, first.id, ids["plus"])
    s.harness.fail_next(500)  # the change: the panel has not changed john
    await s.api.pay(s.john, invoice)
    reply = await s.api.next_event(JOHN)
    assert "package could not be changed now, so your 20 Stars were refunded" in reply.text
    found = await _customer(s.db)
    assert found.plan_id == ids["1m"] and found.expires_at == first.expires_at
    balance = await _balance(s.db)
    assert (balance.balance, balance.held) == (4_000, 0)
    refunds = refunds_made(s.api)
    assert len(refunds) == 1 and refunds[0]["amount"] == 20
    [payment] = await _payments(s)
    assert payment.state == StarState.REFUNDED
    assert payment.refund_reason is not None
    assert payment.refund_reason.startswith("plan_change not done")
    told = await s.api.next_event(ALICE)
    assert "paid 20 Stars for a change of package that could not be made" in told.text
    group = await s.api.next_event(ADMIN_CHAT_ID)
    assert "A change of package of <code>john</code>" in group.text
    assert "was refunded automatically" in group.text
    lines = await _payment_lines(s, first.id)
    assert "paid 20 Stars for VPN Plus: not done, refunded" in lines[0]
    assert "activation: VPN 1 month" in lines[1] and len(lines) == 2
    await assert_audit_ok(s.db)


async def test_forged_buttons_another_chats_subscription_and_a_cheaper_plan(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s, **{"1m": 10, "plus": 15, "lite": 8})
    screen = await change_screen(s, first.id)
    # Another chat taps John's buttons (forged under its own /start): nothing is shown.
    eve = s.api.user(6006, "Eve")
    await s.api.send(eve, "/start")
    menu = await s.api.next_event(eve.id)
    for data in (
        callbacks.CHANGE_PAY.build(first.id, ids["plus"]),
        callbacks.CHANGE_TO.build(first.id, ids["plus"]),
    ):
        await alert(s.api, eve, menu, data)
    assert s.api.unread(eve.id) == []
    # John: a plan id that does not exist, and his own plan.
    for plan in (999_999, ids["1m"]):
        assert "not available" in await alert(
            s.api, s.john, screen, callbacks.CHANGE_PAY.build(first.id, plan)
        )
    # A subscription id that is not his.
    assert await alert(s.api, s.john, screen, callbacks.CHANGE_PAY.build(first.id + 1, ids["plus"]))
    assert await _payments(s) == []
    # The cheaper plan goes to the reseller, as without self-service payment.
    asked = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(first.id, ids["lite"]))
    assert "asked to change your package to VPN Lite" in asked.text
    async with s.db.transaction() as session:
        status = await session.scalar(select(PlanChangeRequest.status))
    assert status == ChangeStatus.PENDING
    # While it waits, the dearer plan is not paid here either: one change at a time.
    screen = await change_screen(s, first.id)
    assert "VPN Plus (30 days)" in [label for label, _ in screen.buttons]
    refused = await alert(s.api, s.john, screen, callbacks.CHANGE_TO.build(first.id, ids["plus"]))
    assert "already asked for a change" in refused
    # A pay button from before the request: no invoice either.
    refused = await alert(s.api, s.john, screen, callbacks.CHANGE_PAY.build(first.id, ids["plus"]))
    assert "cannot be paid here now" in refused
    assert await _payments(s) == []


async def test_with_self_service_off_the_change_is_a_request_as_before(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    first, ids = await linked_with_prices(s)
    await self_pay.set_enabled(s.db, telegram_id=ALICE, enabled=False, actor="t", now=now())
    screen = await change_screen(s, first.id)
    assert "VPN Plus (30 days)" in [label for label, _ in screen.buttons]
    assert "cannot be paid here" in await alert(
        s.api, s.john, screen, callbacks.CHANGE_PAY.build(first.id, ids["plus"])
    )
    asked = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(first.id, ids["plus"]))
    assert "asked to change your package to VPN Plus" in asked.text
    assert await _payments(s) == []


async def test_a_customer_cancelled_between_pre_checkout_and_payment_is_refunded(
    shop: Shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = shop
    first, ids = await linked_with_prices(s)
    _, invoice, _ = await change_invoice(s, first.id, ids["plus"])
    original = star_renewals.record_payment

    async def cancelled_meanwhile(db: Any, **kwargs: Any) -> Any:
        # Telegram took the Stars; the customer's Cancel lands before the change runs.
        recorded = await original(db, **kwargs)
        await cancellation.cancel(
            db, chat_id=JOHN, customer_id=first.id, reason="price", note=None, now=now()
        )
        return recorded

    monkeypatch.setattr(star_renewals, "record_payment", cancelled_meanwhile)
    await s.api.pay(s.john, invoice)
    reply = await s.api.next_event(JOHN)
    assert "could not be changed now, so your 20 Stars were refunded" in reply.text
    found = await _customer(s.db)
    assert found.plan_id == ids["1m"] and found.expires_at == first.expires_at
    assert found.status == CustomerStatus.CANCELLED
    assert (await _balance(s.db)).balance == 4_000  # the revenue taken back
    [payment] = await _payments(s)
    assert payment.state == StarState.REFUNDED
    assert payment.refund_reason == "plan_change not done: customer_cancelled"
    assert "Your customer <b>john</b> cancelled" in (await s.api.next_event(ALICE)).text
    told = await s.api.next_event(ALICE)
    assert "(the subscription was cancelled)" in told.text
    await assert_audit_ok(s.db)


async def test_an_invoice_paid_after_the_days_left_ran_out_is_repriced_for_today(
    shop: Shop,  # noqa: F811
) -> None:
    """The days left are counted when Telegram asks, not when the invoice was made: John's
    ran out before he paid, so the +5 Stars for them are no longer owed."""
    s = shop
    first, ids = await linked_with_prices(s)
    clock = [now()]
    s.app.bot_data["clock"] = lambda: clock[0]
    pay_screen, invoice, _ = await change_invoice(s, first.id, ids["plus"])
    assert "To pay: <b>20 Stars</b>" in pay_screen.text
    assert invoice.message["invoice"]["total_amount"] == 20
    clock[0] += dt.timedelta(days=31)  # John pays a month later: his days are gone
    answered = await s.api.pre_checkout(s.john, invoice)
    assert answered["ok"] is False and "The price changed" in answered["error_message"]
    fresh = await s.api.next_event(JOHN)
    assert "To pay: <b>15 Stars</b>" in fresh.text and "days left" not in fresh.text
    again = await s.api.next_event(JOHN)
    assert again.method == "sendInvoice" and again.message["invoice"]["total_amount"] == 15
    await s.api.pay(s.john, again)
    assert "15 Stars. <code>john</code> is now on VPN Plus" in (await s.api.next_event(JOHN)).text
    found = await _customer(s.db)
    assert found.plan_id == ids["plus"] and found.expires_at == clock[0] + dt.timedelta(days=30)
    assert [(p.state, p.stars) for p in await _payments(s)] == [
        (StarState.INVOICED, 20),
        (StarState.PAID, 15),
    ]
    await assert_audit_ok(s.db)


async def _two_invoices(s: Shop, cid: int, plan_id: int) -> tuple[Event, Event, str]:
    """Pay and change tapped twice (two devices, or twice on one): two invoices; and the
    pay button's data."""
    pay_screen, first, pay = await change_invoice(s, cid, plan_id)
    await s.api.answer(await s.api.tap(s.john, pay_screen, pay))
    second = await s.api.next_event(JOHN)
    assert second.method == "sendInvoice"
    return first, second, pay


async def test_a_second_payment_while_the_first_change_is_in_doubt_is_refunded_at_once(
    shop: Shop,  # noqa: F811
) -> None:
    """The panel has not answered John's paid change; a second invoice, let through by
    Telegram before the first was paid, is paid too. The second sale cannot start beside
    the first, and nothing would ever run it later: its Stars go back now, with the
    revenue, rather than staying taken for nothing."""
    s = shop
    first, ids = await linked_with_prices(s)
    invoice, second, _ = await _two_invoices(s, first.id, ids["plus"])
    assert (await s.api.pre_checkout(s.john, second))["ok"] is True
    s.harness.fail_next(500, times=3)  # the change, and asking the panel about it
    await s.api.pay(s.john, invoice)
    assert "being confirmed with the provider" in (await s.api.next_event(JOHN)).text
    await s.api.confirm(s.john, second)
    reply = await s.api.next_event(JOHN)
    assert "package could not be changed now, so your 20 Stars were refunded" in reply.text
    [in_doubt, refunded] = await _payments(s)
    assert in_doubt.state == StarState.PAID and refunded.state == StarState.REFUNDED
    assert refunded.refund_reason == "plan_change not done: renewal_in_progress"
    refunds = refunds_made(s.api)
    assert len(refunds) == 1 and refunds[0]["amount"] == 20
    # The first payment's revenue in and its price held; the second's revenue taken back.
    balance = await _balance(s.db)
    assert (balance.balance, balance.held) == (8_000, 1_500)
    told = await s.api.next_event(ALICE)
    assert "could not be made (another change or renewal was still being made)" in told.text
    await assert_audit_ok(s.db)


async def test_while_a_paid_change_is_in_doubt_nothing_more_is_offered_for_stars(
    shop: Shop,  # noqa: F811
) -> None:
    """John's paid change waits for the panel's answer. His Change package screen says so
    and prices nothing (a plan tapped is asked of the reseller); the old Pay button makes
    no invoice; an invoice made before is refused at the pre-checkout, in words."""
    s = shop
    first, ids = await linked_with_prices(s)
    invoice, earlier, pay = await _two_invoices(s, first.id, ids["plus"])
    s.harness.fail_next(500, times=3)  # the change, and asking the panel about it
    await s.api.pay(s.john, invoice)
    assert "being confirmed with the provider" in (await s.api.next_event(JOHN)).text

    screen = await change_screen(s, first.id)
    labels = [label for label, _ in screen.buttons]
    assert "VPN Plus (30 days)" in labels and not any("Stars" in label for label in labels)
    assert "Your last payment is still being processed" in screen.text
    assert "ask your reseller" in screen.text
    refused = await alert(s.api, s.john, screen, pay)
    assert "Your last payment is still being processed" in refused
    answered = await s.api.pre_checkout(s.john, earlier)
    assert answered["ok"] is False
    assert "Your last payment is still being processed" in answered["error_message"]
    await asyncio.sleep(0.3)
    assert s.api.unread(JOHN) == []  # no new invoice, no other price screen
    assert [p.state for p in await _payments(s)] == [StarState.PAID, StarState.INVOICED]
    # What is offered instead: asking the reseller, as without self-service payment.
    asked = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(first.id, ids["plus"]))
    assert "asked to change your package to VPN Plus" in asked.text
    assert len(await _payments(s)) == 2
    await assert_audit_ok(s.db)


async def test_two_payments_for_the_same_change_on_two_devices_change_once(
    shop: Shop,  # noqa: F811
) -> None:
    """John confirms the change on his phone and on his laptop within a second: both pass
    the pre-checkout before either payment arrives (two charges, two invoices). The first
    changes the package; the second must not renew it again: its Stars are refunded and
    the revenue taken back, and John is told why."""
    s = shop
    first, ids = await linked_with_prices(s)
    phone, laptop, _ = await _two_invoices(s, first.id, ids["plus"])
    assert (await s.api.pre_checkout(s.john, phone))["ok"] is True
    assert (await s.api.pre_checkout(s.john, laptop))["ok"] is True
    await s.api.confirm(s.john, phone)
    await s.api.confirm(s.john, laptop)
    expected = first.expires_at + dt.timedelta(days=30)
    changed = await s.api.next_event(JOHN)
    assert "20 Stars. <code>john</code> is now on VPN Plus" in changed.text
    reply = await s.api.next_event(JOHN)
    assert "You are already on this package" in reply.text
    assert "20 Stars were refunded" in reply.text
    found = await _customer(s.db)
    assert found.plan_id == ids["plus"] and found.expires_at == expected  # changed once
    [paid, refunded] = await _payments(s)
    assert paid.state == StarState.PAID and refunded.state == StarState.REFUNDED
    assert refunded.refund_reason == "plan_change not done: already_on_plan"
    refunds = refunds_made(s.api)
    assert len(refunds) == 1 and refunds[0]["amount"] == 20
    # 40.00 after the activation, +40.00 revenue, -15.00 for the new package; the second
    # payment's revenue taken back.
    balance = await _balance(s.db)
    assert (balance.balance, balance.held) == (6_500, 0)
    orders = (
        select(func.count())
        .select_from(SubscriptionOrder)
        .where(SubscriptionOrder.status == OrderStatus.COMPLETED)
    )
    assert await _count(s.db, orders) == 2  # the activation and the change, nothing more
    assert "changed from VPN 1 month to VPN Plus" in (await s.api.next_event(ALICE)).text
    told = await s.api.next_event(ALICE)
    assert "could not be made (it had already been paid for and made)" in told.text
    group = await s.api.next_event(ADMIN_CHAT_ID)
    assert "A change of package of <code>john</code>" in group.text
    lines = await _payment_lines(s, first.id)
    assert "paid 20 Stars for VPN Plus: not done, refunded" in lines[0]
    assert "change of package: VPN Plus" in lines[1] and len(lines) == 3
    await assert_audit_ok(s.db)


async def test_while_a_paid_change_is_in_doubt_no_renewal_is_taken_in_stars_either(
    shop: Shop,  # noqa: F811
) -> None:
    """John's paid change waits for the panel's answer. A renewal invoiced before it is
    refused at the pre-checkout in words (its payment would only be refunded), the old
    ⭐ Pay and renew button makes no invoice, and /status offers none until it is settled."""
    s = shop
    first, ids = await linked_with_prices(s)
    status, _, renewal = await renewal_invoice(s)
    pay_renewal = status.button("Pay and renew")
    invoice, _, _ = await _two_invoices(s, first.id, ids["plus"])
    s.harness.fail_next(500, times=3)  # the change, and asking the panel about it
    await s.api.pay(s.john, invoice)
    assert "being confirmed with the provider" in (await s.api.next_event(JOHN)).text

    answered = await s.api.pre_checkout(s.john, renewal)
    assert answered["ok"] is False
    assert "Your last payment is still being processed" in answered["error_message"]
    assert "nothing was charged" in answered["error_message"]
    refused = await alert(s.api, s.john, status, pay_renewal)
    assert "Your last payment is still being processed" in refused
    await s.api.send(s.john, "/status")
    again = await s.api.next_event(JOHN)
    assert not any("Pay and renew" in label for label, _ in again.buttons)
    assert "Your last payment is still being processed" in again.text  # why, in words
    await asyncio.sleep(0.3)
    assert s.api.unread(JOHN) == []  # no invoice
    async with s.db.transaction() as session:
        renewals = await session.scalars(
            select(StarPayment.state).where(StarPayment.purpose == StarPurpose.RENEWAL)
        )
        assert list(renewals) == [StarState.INVOICED]
    await assert_audit_ok(s.db)


async def test_a_change_is_not_paid_here_while_a_stars_subscription_renews_the_old_plan(
    shop: Shop,  # noqa: F811
) -> None:
    """John's Stars subscription renews VPN 1 month every 30 days, and Telegram charges it
    with no pre-checkout: a paid change to VPN Plus would be undone by the next charge
    (sold VPN 1 month again, the Plus days he paid extra for moved back). So the change
    is not offered for Stars while it renews; an invoice from before is refused."""
    s = shop
    first, ids = await linked_with_prices(s)
    _, earlier, pay = await change_invoice(s, first.id, ids["plus"])
    await subscribe(s)

    screen = await change_screen(s, first.id)
    assert "VPN Plus (30 days)" in [label for label, _ in screen.buttons]  # asked, no price
    assert "cannot be paid here now" in await alert(s.api, s.john, screen, pay)
    answered = await s.api.pre_checkout(s.john, earlier)
    assert answered["ok"] is False and "cannot be paid here now" in answered["error_message"]
    assert [p.state for p in await _payments(s)] == [StarState.INVOICED]
    assert (await _customer(s.db)).plan_id == ids["1m"]


async def test_a_renewal_let_through_before_a_paid_change_is_refunded_not_sold_back(
    shop: Shop,  # noqa: F811
) -> None:
    """John's renewal of VPN 1 month passed its pre-checkout, then he paid a change to VPN
    Plus, which was made. The renewal's payment arrives last: selling VPN 1 month now
    would move him back (the Plus days he paid for moved to the old plan). It is refunded
    instead, and he is told his package changed meanwhile."""
    s = shop
    first, ids = await linked_with_prices(s)
    _, _, renewal = await renewal_invoice(s)
    assert (await s.api.pre_checkout(s.john, renewal))["ok"] is True
    invoice, _, _ = await _two_invoices(s, first.id, ids["plus"])
    await s.api.pay(s.john, invoice)
    assert "is now on VPN Plus" in (await s.api.next_event(JOHN)).text
    assert "changed from VPN 1 month to VPN Plus" in (await s.api.next_event(ALICE)).text
    changed = await _customer(s.db)

    await s.api.confirm(s.john, renewal)
    reply = await s.api.next_event(JOHN)
    assert "Your package changed while this renewal was being paid" in reply.text
    assert "10 Stars were refunded" in reply.text
    found = await _customer(s.db)
    assert (found.plan_id, found.expires_at) == (ids["plus"], changed.expires_at)
    async with s.db.transaction() as session:
        payment = await session.scalar(
            select(StarPayment).where(StarPayment.purpose == StarPurpose.RENEWAL)
        )
    assert payment is not None and payment.state == StarState.REFUNDED
    assert payment.refund_reason == "renewal not done: plan_changed"
    refunds = refunds_made(s.api)
    assert len(refunds) == 1 and refunds[0]["amount"] == 10
    told = await s.api.next_event(ALICE)
    assert "could not be done (the customer has changed package since)" in told.text
    assert "automatic renewal" not in told.text  # a single payment: none to stop
    await assert_audit_ok(s.db)


async def test_a_payment_for_a_package_the_reseller_gave_meanwhile_is_refunded_in_true_words(
    shop: Shop,  # noqa: F811
) -> None:
    """John pays for VPN Plus; before his payment arrives, Alice renews him on VPN Plus
    herself (he had asked her too, say). The payment finds him on it: refunded, and told
    that he is on that package already, not that he had paid for it before."""
    s = shop
    first, ids = await linked_with_prices(s, **{"1m": 10, "plus": 15})
    screen = await change_screen(s, first.id)
    pay_screen = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(first.id, ids["plus"]))
    await s.api.answer(
        await s.api.tap(s.john, pay_screen, callbacks.CHANGE_PAY.build(first.id, ids["plus"]))
    )
    invoice = await s.api.next_event(JOHN)
    assert (await s.api.pre_checkout(s.john, invoice))["ok"] is True

    await s.api.send(s.alice, "/renew")
    customers = await s.api.next_event(ALICE)
    plans_shown = await tap(s.api, s.alice, customers, customers.button("john"))
    confirm = await tap(s.api, s.alice, plans_shown, plans_shown.button("VPN Plus"))
    renewed = await tap(s.api, s.alice, confirm, confirm.key("✅ Confirm"))
    assert "john" in renewed.text
    given = await _customer(s.db)
    assert given.plan_id == ids["plus"]

    await s.api.confirm(s.john, invoice)
    reply = await s.api.next_event(JOHN)
    assert "already on this package" in reply.text and "20 Stars were refunded" in reply.text
    assert "already paid" not in reply.text
    found = await _customer(s.db)
    assert (found.plan_id, found.expires_at) == (given.plan_id, given.expires_at)
    [refunded] = await _payments(s)
    assert refunded.state == StarState.REFUNDED
    assert refunded.refund_reason == "plan_change not done: already_on_plan"
    await assert_audit_ok(s.db)
