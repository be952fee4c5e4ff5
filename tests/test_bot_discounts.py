"""Discount codes through the running bot: a valid code entered at a customer's renewal
invoice lowers it (stated before paying, recorded on the payment), a code at its usage cap
is refused, a top-up keeps its credits for fewer Stars, and the admins' /discounts adds
codes and reports their uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.services import discounts, star_methods, wallet
from bot.services.discounts import NewCode
from models import DiscountTarget, StarPayment, StarState, TxType
from tests import test_bot_star_renewals as renewals
from tests.conftest import ADMIN_ID
from tests.fake_bot_api import Event
from tests.helpers import assert_audit_ok, key, now, setup_topups
from tests.test_bot_star_renewals import (
    JOHN,
    Shop,
    _balance,
    _invoice,
    _offer_prices,
    _sell_and_link,
    _tap,
)

# The renewals' fixtures: a fake Marzban, a plan on it, Alice, the bot with its jobs.
marzban, shop = renewals.marzban, renewals.shop


async def _enter_code(shop: Shop, screen: Event, code: str) -> Event:
    """🏷 I have a discount code, the code typed: what the bot then shows."""
    user = shop.john if screen.message["chat"]["id"] == JOHN else shop.alice
    await _tap(shop, user, screen, screen.button("discount code"))
    prompt = await shop.api.next_event(user.id)
    assert "Send your discount code" in prompt.text
    await shop.api.send(user, code)
    return await shop.api.next_event(user.id)


async def _paid_payments(shop: Shop) -> list[Any]:
    async with shop.db.transaction() as session:
        return list(
            await session.scalars(select(StarPayment).where(StarPayment.state == StarState.PAID))
        )


async def test_a_valid_code_lowers_the_renewal_invoice_and_is_recorded_on_the_payment(
    shop: Shop,
) -> None:
    await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    await discounts.create(
        shop.db, NewCode("spring", DiscountTarget.RENEWAL, percent_off=20), actor="test", now=now()
    )
    offer, old_invoice = await _invoice(shop)
    applied = await _enter_code(shop, offer, "Spring")
    assert "Code applied" in applied.text
    screen = await shop.api.next_event(JOHN)
    assert "To pay: <b>8 Stars</b>" in screen.text
    assert "Discount code: −2 Stars (instead of 10 Stars)" in screen.text
    invoice = await shop.api.next_event(JOHN)
    assert invoice.method == "sendInvoice" and invoice.message["invoice"]["total_amount"] == 8
    refused = await shop.api.pre_checkout(shop.john, old_invoice)  # the replaced invoice
    assert refused["ok"] is False and "no longer valid" in refused["error_message"]

    await shop.api.pay(shop.john, invoice)
    assert "8 Stars. <code>john</code> is renewed" in (await shop.api.next_event(JOHN)).text
    (paid,) = await _paid_payments(shop)
    assert (paid.stars, paid.discount_stars, paid.credits) == (8, 2, 1_600)
    # 40.00 after the activation, +16.00 revenue (what john paid), -10.00 renewal.
    assert (await _balance(shop.db)).balance == 4_600
    (code,) = await discounts.report(shop.db)
    assert (code.uses, code.stars_given) == (1, 2)


async def test_a_code_at_its_usage_cap_is_refused_and_the_invoice_stays(shop: Shop) -> None:
    await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    await discounts.create(
        shop.db, NewCode("ONCE", DiscountTarget.RENEWAL, stars_off=3, max_uses=1),
        actor="test", now=now(),
    )  # fmt: skip
    offer, _ = await _invoice(shop)
    await _enter_code(shop, offer, "once")
    await shop.api.next_event(JOHN)  # the new screen
    invoice = await shop.api.next_event(JOHN)
    assert invoice.message["invoice"]["total_amount"] == 7
    await shop.api.pay(shop.john, invoice)
    assert "is renewed" in (await shop.api.next_event(JOHN)).text

    offer, _ = await _invoice(shop)
    refused = await _enter_code(shop, offer, "ONCE")
    assert "used as many times as it may be" in refused.text
    await shop.api.send(shop.john, "nosuchcode")
    assert "There is no such code" in (await shop.api.next_event(JOHN)).text
    async with shop.db.transaction() as session:
        open_ = list(await session.scalars(
            select(StarPayment).where(StarPayment.state == StarState.INVOICED)
        ))  # fmt: skip
    assert [(p.stars, p.discount_code_id) for p in open_] == [(10, None)]


async def test_a_topup_code_keeps_the_credits_for_fewer_stars(shop: Shop) -> None:
    await setup_topups(shop.db)
    await discounts.create(
        shop.db, NewCode("TOPUP10", DiscountTarget.TOPUP, percent_off=10), actor="t", now=now()
    )
    api, alice = shop.api, shop.alice
    await api.send(alice, "/topup")
    await api.next_event(alice.id)
    await api.send(alice, "500")
    priced = await api.next_event(alice.id)
    await _tap(shop, alice, priced, priced.button("Telegram Stars"))
    screen = await api.next_event(alice.id)
    await api.next_event(alice.id)  # the invoice at 250 Stars
    await _enter_code(shop, screen, "topup10")
    fresh = await api.next_event(alice.id)
    assert (
        "Credits: <b>500.00 credits</b>" in fresh.text and "To pay: <b>225 Stars</b>" in fresh.text
    )
    assert "−25 Stars (instead of 250 Stars)" in fresh.text
    invoice = await api.next_event(alice.id)
    await api.pay(alice, invoice)
    assert (
        "Payment received: 225 Stars. <b>500.00 credits</b> added"
        in (await api.next_event(alice.id)).text
    )
    assert star_methods  # the rate is the fixture's: 2.00 credits per Star


async def test_admins_add_codes_and_read_their_uses_in_chat(shop: Shop) -> None:
    api = shop.api
    boss = api.user(ADMIN_ID, "Boss")
    await api.send(boss, "/discounts add SUMMER 15% renewal until=2099-12-31 max=5 per_user=1")
    added = await api.next_event(ADMIN_ID)
    assert "Added: <code>SUMMER</code>: 15% off on customer renewals; used 0 of 5" in added.text
    await api.send(boss, "/discounts add SUMMER 5 topup")
    assert "already exists" in (await api.next_event(ADMIN_ID)).text
    await api.send(boss, "/discounts add BAD 150% renewal")
    assert "could not be read" in (await api.next_event(ADMIN_ID)).text
    await api.send(boss, "/discounts")
    assert "<code>SUMMER</code>: 15% off" in (await api.next_event(ADMIN_ID)).text
    await api.send(boss, "/discounts uses summer")
    assert "Uses of <code>SUMMER</code>: 0" in (await api.next_event(ADMIN_ID)).text
    await api.send(shop.alice, "/discounts add MINE 50% topup")
    assert "SUMMER" not in (await api.next_event(shop.alice.id)).text  # refused
    assert [d.code for d in await discounts.report(shop.db)] == ["SUMMER"]


async def test_a_renewal_the_reseller_cannot_afford_even_with_the_revenue_is_refunded(
    shop: Shop,
) -> None:
    """A 60% code leaves 4 Stars (8.00 credits of revenue) for a 10.00 renewal, and Alice
    has nothing left: the renewal is refused, the revenue taken back, john refunded."""
    await _sell_and_link(shop)
    await _offer_prices(shop, 10)
    await wallet.remove_credit(
        shop.db, telegram_id=shop.alice.id, amount=4_000, tx_type=TxType.ADJUSTMENT,
        actor="test", key=key(), now=now(),
    )  # fmt: skip
    await discounts.create(
        shop.db, NewCode("BIG", DiscountTarget.RENEWAL, percent_off=60), actor="t", now=now()
    )
    offer, _ = await _invoice(shop)
    await _enter_code(shop, offer, "BIG")
    await shop.api.next_event(JOHN)  # the new screen
    invoice = await shop.api.next_event(JOHN)
    assert invoice.message["invoice"]["total_amount"] == 4
    await shop.api.pay(shop.john, invoice)
    assert "so your 4 Stars were refunded" in (await shop.api.next_event(JOHN)).text
    told = await shop.api.next_event(shop.alice.id)
    assert "could not be done (not enough credit)" in told.text
    balance = await _balance(shop.db)
    assert (balance.balance, balance.held) == (0, 0)
    refunds = [tx for tx in shop.api.star_transactions if "receiver" in tx]
    assert [tx["amount"] for tx in refunds] == [4]
    (code,) = await discounts.report(shop.db)
    assert code.uses == 0  # a refunded payment gives its use back
    await assert_audit_ok(shop.db)
