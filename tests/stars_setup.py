"""The shared set-up of the customers' Stars flows (a renewal or a change of package paid
in Stars, through the running bot, a fake Marzban and the fake Bot API), for the tests of
paid changes, changes beside a Stars subscription, recovery after a stop, and the
reseller's decisions: the extra plans and their Stars prices, the screens that lead to an
invoice, a payment recorded just before a stop, and the reads the tests check.

The ``shop`` fixture and its helpers come from ``tests.test_bot_star_renewals``; a test
module imports them from here (``marzban`` and ``shop`` too, for pytest to find them).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select

from bot.adapters.panels.base import GIB
from bot.context import BotApplication
from bot.services import plans, self_pay, star_renewals
from bot.services.stars import Payment
from handlers.portal import callbacks
from models import Customer, StarPayment, StarPurpose, StarState
from tests import test_bot_star_renewals as renewals
from tests.fake_bot_api import Event, FakeBotAPI, User, bad_request
from tests.helpers import now, tap

# The shop (its fixtures, for pytest to find where they are imported) and its helpers.
Shop = renewals.Shop
ALICE, JOHN = renewals.ALICE, renewals.JOHN
marzban, shop = renewals.marzban, renewals.shop
_balance, _count, _customer = renewals._balance, renewals._count, renewals._customer
_invoice, _offer_prices = renewals._invoice, renewals._offer_prices
_sell_and_link = renewals._sell_and_link

# A payment recorded this long ago is past the recovery job's grace (and the outbox
# sends what is due by the real time, so the job runs at "now").
EARLIER = dt.timedelta(minutes=3)


async def add_plans(s: Shop) -> dict[str, int]:
    """VPN Plus (15.00 credits, 30 days) and VPN Lite (8.00) beside VPN 1 month (10.00)."""
    for code, name, price in (("vpn-plus", "VPN Plus", 1_500), ("vpn-lite", "VPN Lite", 800)):
        await plans.add_plan(
            s.db, code=code, name=name, days=30, price=price, panel="de-1",
            template=s.harness.template(), data_limit_bytes=50 * GIB,
        )  # fmt: skip
    found = {p.name: p.id for p in await plans.list_plans(s.db)}
    return {"1m": found["VPN 1 month"], "plus": found["VPN Plus"], "lite": found["VPN Lite"]}


async def set_prices(s: Shop, ids: dict[str, int], **stars: int) -> None:
    """Alice lets her customers pay in Stars, at these prices (by ``add_plans``' keys)."""
    await self_pay.set_enabled(s.db, telegram_id=ALICE, enabled=True, actor="t", now=now())
    for code, amount in stars.items():
        await self_pay.set_price(
            s.db, telegram_id=ALICE, plan_id=ids[code], stars=amount, actor="t", now=now()
        )


async def linked_with_prices(s: Shop, **stars: int) -> tuple[Customer, dict[str, int]]:
    """john sold and linked, the other plans added and priced in Stars (VPN 1 month at 10
    and VPN Plus at 15 unless told): john, and the plans' ids."""
    first = await _sell_and_link(s)
    ids = await add_plans(s)
    await set_prices(s, ids, **(stars or {"1m": 10, "plus": 15}))
    return first, ids


async def change_screen(s: Shop, cid: int) -> Event:
    """john's /start, 🔁 Change package: the plans he may move to."""
    await s.api.send(s.john, "/start")
    home = await s.api.next_event(JOHN)
    return await tap(s.api, s.john, home, callbacks.CHANGE.build(cid))


async def change_invoice(s: Shop, cid: int, plan_id: int) -> tuple[Event, Event, str]:
    """A plan picked on the Change package screen, then Pay: the price screen, the
    invoice, and the Pay button's data."""
    screen = await change_screen(s, cid)
    pay_screen = await tap(s.api, s.john, screen, callbacks.CHANGE_TO.build(cid, plan_id))
    pay = callbacks.CHANGE_PAY.build(cid, plan_id)
    await s.api.answer(await s.api.tap(s.john, pay_screen, pay))
    invoice = await s.api.next_event(JOHN)
    assert invoice.method == "sendInvoice"
    return pay_screen, invoice, pay


async def renewal_invoice(s: Shop) -> tuple[Event, Event, Event]:
    """john's /status, ⭐ Pay and renew: the status, the offer screen and the invoice."""
    await s.api.send(s.john, "/status")
    status = await s.api.next_event(JOHN)
    await s.api.answer(await s.api.tap(s.john, status, status.button("Pay and renew")))
    offer = await s.api.next_event(JOHN)
    invoice = await s.api.next_event(JOHN)
    assert invoice.method == "sendInvoice"
    return status, offer, invoice


async def subscribe(s: Shop) -> str:
    """john turns automatic renewal on for VPN 1 month (10 Stars every 30 days): the link."""
    _, offer, _ = await renewal_invoice(s)
    await s.api.answer(await s.api.tap(s.john, offer, offer.button("Renew every 30 days")))
    await s.api.next_event(JOHN)  # the terms and the link
    link = list(s.api.invoice_links)[-1]
    await s.api.subscribe(s.john, link)
    assert "renewed until" in (await s.api.next_event(JOHN)).text
    return link


async def alert(api: FakeBotAPI, user: User, event: Event, data: str) -> str:
    """A button tapped that is refused: the alert's text."""
    answered: dict[str, Any] = await api.answer(await api.tap(user, event, data))
    assert str(answered.get("show_alert")).lower() == "true", answered
    return str(answered.get("text", ""))


def refunds_made(api: FakeBotAPI) -> list[dict[str, Any]]:
    """The refunds Telegram made (its transactions to a payer)."""
    return [tx for tx in api.star_transactions if "receiver" in tx]


def hold_refunds(
    api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch, *, refused: int
) -> tuple[list[asyncio.Event], list[asyncio.Event]]:
    """Hold the next two refundStarPayment calls until released: each call's turn sets
    ``arrived[turn]`` and waits for ``go[turn]``; the call of turn ``refused`` is then
    refused as Telegram refuses a refund, the other answered as usual."""
    refund = api._m_refundstarpayment
    arrived = [asyncio.Event(), asyncio.Event()]
    go = [asyncio.Event(), asyncio.Event()]
    calls: list[int] = []

    async def held(params: dict[str, object]) -> object:
        turn = len(calls)
        calls.append(turn)
        arrived[turn].set()
        await go[turn].wait()
        if turn == refused:
            raise bad_request("STARS_REFUND_FAILED")
        return await refund(params)

    monkeypatch.setattr(api, "_m_refundstarpayment", held)
    return arrived, go


def recovery_by_hand(app: BotApplication) -> None:
    """The recovery job runs when the test says: its timer (first run 5 s after the
    start) would race the test on a slow machine."""
    assert app.job_queue is not None
    for job in app.job_queue.get_jobs_by_name("stars_stranded"):
        job.schedule_removal()


async def paid_then_stopped(s: Shop, invoice: Event, purpose: StarPurpose) -> Payment:
    """Telegram takes the Stars and the bot records the payment (``EARLIER``), then stops
    before its sale (or its refund) starts: the update is not delivered again. The
    recovery job is left to the test (``recovery_by_hand``)."""
    recovery_by_hand(s.app)
    assert (await s.api.pre_checkout(s.john, invoice))["ok"] is True
    paid: dict[str, Any] = s.api.charge(s.john, invoice)
    recorded = await star_renewals.record_payment(
        s.db, charge_id=paid["telegram_payment_charge_id"],
        provider_charge_id=paid["provider_payment_charge_id"],
        payload=paid["invoice_payload"], total_amount=paid["total_amount"],
        currency=paid["currency"], now=now() - EARLIER, purpose=purpose,
    )  # fmt: skip
    return recorded.payment


async def renewal_paid_then_stopped(s: Shop) -> tuple[Customer, Payment]:
    """john sold and linked, his renewal priced at 10 Stars, paid and recorded just
    before a stop (``paid_then_stopped``): john as sold, and the payment."""
    first = await _sell_and_link(s)
    await _offer_prices(s, 10)
    _, invoice = await _invoice(s)
    return first, await paid_then_stopped(s, invoice, StarPurpose.RENEWAL)


async def payment_state(s: Shop, payment_id: int) -> StarState:
    async with s.db.transaction() as session:
        found = await session.scalar(
            select(StarPayment.state)
            .where(StarPayment.id == payment_id)
            .execution_options(populate_existing=True)
        )
    assert found is not None
    return StarState(found)
