"""The reseller's answer to a change of package, through the running bot: declining in
their own words (too long, empty, Back, another reseller's tap, escaped for the customer),
and a Cancel landing between Approve's price check and the sale (nothing charged)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.services import cancellation, plan_changes, sale_errors, sales
from bot.services.customers import CustomerError
from bot.services.provisioning import LocalProvider
from handlers.portal import callbacks
from models import ChangeStatus, CustomerStatus, PlanChangeRequest, SubscriptionOrder
from tests.helpers import say, tap
from tests.stars_setup import alert
from tests.test_bot_portal import (  # noqa: F401  (the fixture)
    ALICE,
    BOB,
    NOW,
    Shop,
    _available,
    _request_hd,
    _status,
    shop,
)
from tests.test_jobs import drain


async def _request(s: Shop, request_id: int) -> PlanChangeRequest:
    async with s.db.transaction() as session:
        found = await session.get(PlanChangeRequest, request_id, populate_existing=True)
    assert found is not None
    return found


async def test_a_reseller_declines_in_their_own_words_and_the_customer_reads_them(
    shop: Shop,  # noqa: F811
) -> None:
    s, cid = shop, shop.ids["carol"]
    notice, request = await _request_hd(s)
    reasons = await tap(s.api, s.alice, notice, callbacks.CHANGE_DECLINE.build(request))
    assert callbacks.CHANGE_DECLINE_OTHER.build(request) in [d for _, d in reasons.buttons]
    # Another reseller's tap on "Other reason…": refused, no flow.
    bob = s.api.user(BOB, "Bob")
    menu = await say(s.api, bob, "/start")
    refused = await alert(s.api, bob, menu, callbacks.CHANGE_DECLINE_OTHER.build(request))
    assert "no longer valid" in refused

    prompt = await tap(s.api, s.alice, reasons, callbacks.CHANGE_DECLINE_OTHER.build(request))
    assert "type the reason (at most 200 characters)" in prompt.text
    # ⬅️ Back: the reasons again, nothing declined.
    back = await tap(s.api, s.alice, prompt, callbacks.CHANGE_DECLINE.build(request))
    assert "Why do you decline?" in back.text
    assert (await _request(s, request)).status == ChangeStatus.PENDING

    prompt = await tap(s.api, s.alice, back, callbacks.CHANGE_DECLINE_OTHER.build(request))
    too_long = await say(s.api, s.alice, "x" * 201)
    assert "at most 200 characters" in too_long.text
    assert (await _request(s, request)).status == ChangeStatus.PENDING
    done = await say(s.api, s.alice, "  HD needs a <b>new</b> box;   call me  ")
    assert "Declined: carol stays on IPTV 1 month" in done.text
    found = await _request(s, request)
    assert (found.status, found.reason) == (ChangeStatus.DECLINED, "other")
    assert found.note == "HD needs a <b>new</b> box; call me"
    assert (await _status(s.db, cid)).plan_id == s.plans["m1"]
    # The flow is over: more text is not taken as a reason, the buttons are stale.
    stale = await alert(s.api, s.alice, reasons, callbacks.CHANGE_DECLINE_OTHER.build(request))
    assert "no longer valid" in stale
    await drain(s.app, s.db, s.settings, dt.datetime.now(dt.UTC))
    told = await s.api.next_event(s.carol.id)
    assert (
        "declined the change to IPTV HD: HD needs a &lt;b&gt;new&lt;/b&gt; box; call me"
        in told.text
    )


async def test_a_reason_typed_empty_is_asked_again_and_cancel_keeps_the_request(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    notice, request = await _request_hd(s)
    reasons = await tap(s.api, s.alice, notice, callbacks.CHANGE_DECLINE.build(request))
    await tap(s.api, s.alice, reasons, callbacks.CHANGE_DECLINE_OTHER.build(request))
    with pytest.raises(CustomerError) as empty:
        plan_changes.check_note("   ")
    assert empty.value.code == "note_empty"
    await s.api.send(s.alice, "/cancel")
    again = await s.api.next_event(ALICE)
    assert "Why do you decline?" in again.text
    assert (await _request(s, request)).status == ChangeStatus.PENDING
    # A picked reason still works afterwards.
    done = await tap(s.api, s.alice, again, callbacks.CHANGE_DECLINE_REASON.build(request, "later"))
    assert "Declined" in done.text
    assert (await _request(s, request)).reason == "later"
    # "other" is no button: without words it is refused by the service.
    with pytest.raises(CustomerError):
        await plan_changes.decline(
            s.db, telegram_id=ALICE, request_id=request, reason="other", note="", now=NOW
        )


async def test_a_cancel_landing_before_the_sale_charges_nothing(
    shop: Shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s, cid = shop, shop.ids["carol"]
    notice, request = await _request_hd(s)
    before = await _available(s.db, ALICE)
    original = plan_changes._pending_of

    async def cancelled_meanwhile(db: Any, telegram_id: int, request_id: int) -> Any:
        # Approve read the request (pending) and checks the price; the customer cancels.
        found = await original(db, telegram_id, request_id)
        await cancellation.cancel(
            db, chat_id=s.carol.id, customer_id=cid, reason="price", note=None, now=NOW
        )
        return found

    monkeypatch.setattr(plan_changes, "_pending_of", cancelled_meanwhile)
    await s.api.answer(
        await s.api.tap(s.alice, notice, callbacks.CHANGE_APPROVE_AT.build(request, 1_500))
    )
    told = await s.api.next_event(ALICE)
    assert "carol cancelled the subscription before the change was made" in told.text
    assert "nothing was charged" in told.text
    assert await _available(s.db, ALICE) == before
    found = await _status(s.db, cid)
    assert found.status == CustomerStatus.CANCELLED and found.plan_id == s.plans["m1"]
    async with s.db.transaction() as session:
        orders = await session.scalar(
            select(func.count())
            .select_from(SubscriptionOrder)
            .where(SubscriptionOrder.idempotency_key == f"plan-change:{request}")
        )
    assert orders == 0


async def test_the_sale_refuses_a_cancelled_customer_only_when_asked_to(
    shop: Shop,  # noqa: F811
) -> None:
    s, cid = shop, shop.ids["carol"]
    await cancellation.cancel(
        s.db, chat_id=s.carol.id, customer_id=cid, reason="price", note=None, now=NOW
    )
    before = await _available(s.db, ALICE)
    with pytest.raises(sale_errors.CustomerCancelled) as refused:
        await sales.sell(
            s.db, LocalProvider(), telegram_id=ALICE, plan_id=s.plans["hd"], key="change-x",
            now=NOW, provider_seconds=5, customer_id=cid, refuse_cancelled=True,
        )  # fmt: skip
    assert refused.value.code == "customer_cancelled"
    assert await _available(s.db, ALICE) == before
    # The reseller renewing a customer who left (to win them back) still sells.
    done = await sales.sell(
        s.db, LocalProvider(), telegram_id=ALICE, plan_id=s.plans["m1"], key="win-back",
        now=NOW, provider_seconds=5, customer_id=cid,
    )  # fmt: skip
    assert done.customer.status == CustomerStatus.ACTIVE


async def test_approving_a_change_the_customer_already_has_charges_nothing_and_closes_it(
    shop: Shop,  # noqa: F811
) -> None:
    """Carol asked Alice for IPTV HD (while a paid change to it was in doubt, say); the
    change is made meanwhile. Approve does not sell HD a second time at Alice's expense:
    it says Carol is on HD already, charges nothing, and closes the request."""
    s, cid = shop, shop.ids["carol"]
    notice, request = await _request_hd(s)
    await sales.sell(
        s.db, LocalProvider(), telegram_id=ALICE, plan_id=s.plans["hd"], key="made-meanwhile",
        now=NOW, provider_seconds=5, customer_id=cid,
    )  # fmt: skip
    before = await _available(s.db, ALICE)
    expiry = (await _status(s.db, cid)).expires_at
    approve = callbacks.CHANGE_APPROVE_AT.build(request, 1_500)
    await s.api.answer(await s.api.tap(s.alice, notice, approve))
    told = await s.api.next_event(ALICE)
    assert "carol is on IPTV HD already" in told.text
    assert "nothing was charged" in told.text and "request is closed" in told.text
    assert told.buttons == []  # the notice's Approve and Decline are gone
    assert await _available(s.db, ALICE) == before
    found = await _status(s.db, cid)
    assert found.plan_id == s.plans["hd"] and found.expires_at == expiry
    closed = await _request(s, request)
    assert closed.status == ChangeStatus.DECLINED and closed.reason == "already_on_plan"
    async with s.db.transaction() as session:
        orders = await session.scalar(
            select(func.count())
            .select_from(SubscriptionOrder)
            .where(SubscriptionOrder.idempotency_key == f"plan-change:{request}")
        )
    assert orders == 0
    # A second tap (the same notice, delivered twice) charges nothing either.
    await s.api.answer(await s.api.tap(s.alice, notice, approve))
    again = await s.api.next_event(ALICE)
    assert "no longer valid" in again.text
    assert await _available(s.db, ALICE) == before


async def test_approve_refuses_the_plan_the_customer_is_on_inside_the_sale(
    shop: Shop,  # noqa: F811
) -> None:
    """The service: the sale refuses (AlreadyOnPlan, nothing held), the request is closed
    as moot, and the customer is not told of a decision that changed nothing."""
    s, cid = shop, shop.ids["carol"]
    _, request = await _request_hd(s)
    await sales.sell(
        s.db, LocalProvider(), telegram_id=ALICE, plan_id=s.plans["hd"], key="made-meanwhile",
        now=NOW, provider_seconds=5, customer_id=cid,
    )  # fmt: skip
    before = await _available(s.db, ALICE)
    with pytest.raises(sale_errors.AlreadyOnPlan) as refused:
        await plan_changes.approve(
            s.db, LocalProvider(), None, telegram_id=ALICE, request_id=request, now=NOW,
            provider_seconds=5, expected_price=1_500,
        )  # fmt: skip
    assert refused.value.params == {"username": "carol", "plan": "IPTV HD"}
    assert await _available(s.db, ALICE) == before
    assert (await _request(s, request)).status == ChangeStatus.DECLINED
    await drain(s.app, s.db, s.settings, dt.datetime.now(dt.UTC))
    await asyncio.sleep(0.3)
    assert s.api.unread(s.carol.id) == []
