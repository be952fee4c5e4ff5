"""A refund of Stars left pending, asked of Telegram again, through the running bot, a
fake Marzban and the fake Bot API: an admin's 🔁 Ask Telegram again (on the admins'
notice of a failed automatic refund, and in /stars) refunds a customer's renewal or
change of package once, everyone told once, the revenue taken back once; a second tap or
a stale button changes nothing. And the recovery job, finishing the refund of a Stars
subscription's charge for a plan the customer left (the bot stopped in between), also
cancels that subscription at Telegram, as the live path would have, once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select, update

from bot.db import Database
from bot.services import star_refund_claims, star_refunds
from handlers.payments import callbacks
from handlers.payments import renewal as renewal_handlers
from jobs import stars as stars_job
from models import EntryKind, StarPayment, StarState, SubscriptionState, Transfer
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID
from tests.fake_bot_api import Event
from tests.helpers import assert_audit_ok, now
from tests.stars_setup import (  # noqa: F401  (the fixtures)
    ALICE,
    EARLIER,
    JOHN,
    Shop,
    _balance,
    _count,
    _invoice,
    _offer_prices,
    _sell_and_link,
    alert,
    change_invoice,
    linked_with_prices,
    marzban,
    payment_state,
    recovery_by_hand,
    refunds_made,
    shop,
    subscribe,
)
from tests.test_bot_portal_subscription_change import _ask_and_approve, _charges, _subscriptions

RETRY = "🔁 Ask Telegram again"


async def _transfers(db: Database) -> int:
    return await _count(db, select(func.count()).select_from(Transfer))


async def _revenue(db: Database) -> int:
    kind = Transfer.kind == EntryKind.STARS_REVENUE
    return await _count(db, select(func.count()).select_from(Transfer).where(kind))


def _asked(s: Shop, method: str) -> int:
    return sum(1 for called, _ in s.api.requests if called == method)


async def _quiet(s: Shop, *chats: int) -> None:
    await asyncio.sleep(1.0)  # the outbox sends every half second
    for chat in chats:
        assert s.api.unread(chat) == [], chat


async def _refused_live(s: Shop, invoice: Event) -> Event:
    """john pays; the panel refuses the sale and Telegram refuses the automatic refund
    (CHARGE_NOT_FOUND, as Telegram words it): the admins' notice of it."""
    recovery_by_hand(s.app)
    s.harness.fail_next(500)
    s.api.fail("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")
    await s.api.pay(s.john, invoice)
    await s.api.next_event(JOHN)  # he is told it could not be done
    notice = await s.api.next_event(ADMIN_CHAT_ID)
    assert "failed: Charge_not_found" in notice.text
    assert "the bot keeps asking Telegram by itself" in notice.text
    assert "Refund it from /stars" not in notice.text
    assert [label for label, _ in notice.buttons] == [RETRY]  # no longer "from /stars"
    return notice


async def test_an_admin_asks_telegram_again_for_a_refused_renewal_refund_once(
    shop: Shop,  # noqa: F811
) -> None:
    s = shop
    boss = s.api.user(ADMIN_ID, "Boss")
    await _sell_and_link(s)
    await _offer_prices(s, 10)
    _, invoice = await _invoice(s)
    notice = await _refused_live(s, invoice)
    payment_id = 1
    data = callbacks.REFUND_RETRY.build(payment_id)
    assert notice.buttons == [(RETRY, data)]
    assert await payment_state(s, payment_id) == StarState.REFUND_PENDING
    assert (await _balance(s.db)).balance == 4_000  # the 20.00 revenue taken back
    transfers = await _transfers(s.db)
    # Not an admin (the button's data sent by hand): refused, nothing asked.
    refused = await s.api.answer(await s.api.tap(s.alice, notice, data))
    assert "admins" in str(refused.get("text", "")).lower()
    assert _asked(s, "refundStarPayment") == 1 and s.api.unread(ADMIN_CHAT_ID) == []

    await s.api.answer(await s.api.tap(boss, notice, data))
    told = await s.api.next_event(ADMIN_CHAT_ID)
    assert told.method == "sendMessage"  # below the notice, which stays as it was
    assert "✅ Refunded. Stars payment #1: 10 Stars returned to the customer" in told.text
    assert await payment_state(s, payment_id) == StarState.REFUNDED
    assert len(refunds_made(s.api)) == 1
    assert "your 10 Stars were refunded" in (await s.api.next_event(JOHN)).text
    alice = await s.api.next_event(ALICE)
    assert "paid 10 Stars for a renewal that could not be done" in alice.text
    assert "was refunded automatically" in (await s.api.next_event(ADMIN_CHAT_ID)).text

    # A second tap on the notice: an alert, nothing asked, moved or said again.
    said = await alert(s.api, boss, notice, data)
    assert "That refund is no longer pending: it is refunded. Nothing changed." in said
    await _quiet(s, JOHN, ALICE, ADMIN_CHAT_ID)
    assert len(refunds_made(s.api)) == 1 and _asked(s, "refundStarPayment") == 2
    assert (await _balance(s.db)).balance == 4_000 and await _transfers(s.db) == transfers
    # The recovery job finds nothing left to do.
    finish = stars_job.finish_pending_refunds
    assert await finish(s.db, s.app.bot, admin_chat_id=ADMIN_CHAT_ID, now=now() + EARLIER) == 0
    await assert_audit_ok(s.db)


async def test_asked_again_after_telegram_refunded_meanwhile_it_is_recorded_as_done(
    shop: Shop,  # noqa: F811
) -> None:
    """Telegram made the refund after all (its answer lost): asked again it answers
    CHARGE_ALREADY_REFUNDED, taken as done; nothing is moved or refunded twice."""
    s = shop
    boss = s.api.user(ADMIN_ID, "Boss")
    await _sell_and_link(s)
    await _offer_prices(s, 10)
    _, invoice = await _invoice(s)
    notice = await _refused_live(s, invoice)
    async with s.db.transaction() as session:
        charge = await session.scalar(select(StarPayment.telegram_payment_charge_id))
    assert charge is not None
    await s.app.bot.refund_star_payment(JOHN, charge)  # the refund Telegram made meanwhile
    transfers = await _transfers(s.db)

    await s.api.answer(await s.api.tap(boss, notice, callbacks.REFUND_RETRY.build(1)))
    assert "✅ Refunded. Stars payment #1" in (await s.api.next_event(ADMIN_CHAT_ID)).text
    assert await payment_state(s, 1) == StarState.REFUNDED
    assert "your 10 Stars were refunded" in (await s.api.next_event(JOHN)).text
    await s.api.next_event(ALICE)
    await s.api.next_event(ADMIN_CHAT_ID)
    await _quiet(s, JOHN, ALICE, ADMIN_CHAT_ID)
    assert len(refunds_made(s.api)) == 1
    assert (await _balance(s.db)).balance == 4_000 and await _transfers(s.db) == transfers
    await assert_audit_ok(s.db)


async def test_a_refused_change_refund_is_asked_again_from_stars_and_not_beside_the_job(
    shop: Shop,  # noqa: F811
) -> None:
    """/stars lists the pending refund with its button; a tap while the job holds the
    refund asks nothing; once free, Telegram refuses again: still pending, the revenue
    still out once, the admin told the bot keeps asking; then it is refunded."""
    s = shop
    boss = s.api.user(ADMIN_ID, "Boss")
    first, ids = await linked_with_prices(s)
    before = (await _balance(s.db)).balance
    _, invoice, _ = await change_invoice(s, first.id, ids["plus"])
    notice = await _refused_live(s, invoice)
    assert "a change of package of <code>john</code>" in notice.text
    assert (await _balance(s.db)).balance == before  # the revenue in and back out
    transfers = await _transfers(s.db)

    await s.api.send(boss, "/stars")
    listed = await s.api.next_event(ADMIN_ID)
    assert "refund under way" in listed.text
    async with s.db.transaction() as session:
        paid = (await session.execute(select(StarPayment.id, StarPayment.stars))).one()
    data = callbacks.REFUND_RETRY.build(paid.id)
    assert listed.buttons == [(f"{RETRY} #{paid.id}", data)]

    # The job holds the refund (asking Telegram now): the tap asks nothing.
    held = await star_refund_claims.take(s.db, paid.id, now())
    assert held is not None
    said = await alert(s.api, boss, listed, data)
    assert "Telegram is being asked for this refund right now" in said
    assert _asked(s, "refundStarPayment") == 1
    await star_refund_claims.release(s.db, held)

    s.api.fail("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")
    await s.api.answer(await s.api.tap(boss, listed, data))
    told = await s.api.next_event(ADMIN_ID)
    assert (
        f"Telegram did not refund Stars payment #{paid.id} ({paid.stars} Stars): "
        "Charge_not_found" in told.text
    )
    assert "the bot keeps asking Telegram by itself" in told.text
    assert told.buttons == [(RETRY, data)]
    assert await payment_state(s, paid.id) == StarState.REFUND_PENDING
    assert (await _balance(s.db)).balance == before and await _transfers(s.db) == transfers
    await _quiet(s, JOHN, ALICE, ADMIN_CHAT_ID)  # a refusal an admin sees is not announced

    await s.api.answer(await s.api.tap(boss, told, data))
    assert f"✅ Refunded. Stars payment #{paid.id}" in (await s.api.next_event(ADMIN_ID)).text
    assert f"your {paid.stars} Stars were refunded" in (await s.api.next_event(JOHN)).text
    await s.api.next_event(ALICE)
    assert "change of package" in (await s.api.next_event(ADMIN_CHAT_ID)).text
    said = await alert(s.api, boss, listed, data)  # the stale /stars button
    assert "no longer pending" in said
    await _quiet(s, JOHN, ALICE, ADMIN_CHAT_ID, ADMIN_ID)
    assert len(refunds_made(s.api)) == 1
    assert (await _balance(s.db)).balance == before and await _transfers(s.db) == transfers
    assert await _revenue(s.db) == 1  # the change's, taken back by its own entry
    await assert_audit_ok(s.db)


async def test_the_job_finishing_a_left_plans_charge_refund_also_stops_its_subscription_once(
    shop: Shop,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The subscription renewing VPN 1 month could not be cancelled when the change to
    VPN Plus was approved; its next charge is refunded, but the bot stops after taking
    the revenue back, before asking Telegram and cancelling the subscription."""
    s = shop
    recovery_by_hand(s.app)
    first, ids = await linked_with_prices(s)
    link = await subscribe(s)
    s.api.fail("editUserStarSubscription", 400, "Bad Request: CHARGE_ID_INVALID")
    await _ask_and_approve(s, first.id, ids["plus"])
    assert "Automatic renewal of VPN 1 month" in (await s.api.next_event(JOHN)).text
    before = (await _balance(s.db)).balance

    async def stopped(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the bot stopped")

    monkeypatch.setattr(renewal_handlers, "settle_refund", stopped)
    assert await s.api.next_period(s.john, link) is not None
    await s.api.next_event(JOHN)  # the apology for the update that failed
    monkeypatch.undo()
    _, charge = await _charges(s)
    assert charge.state == StarState.REFUND_PENDING and refunds_made(s.api) == []
    assert [x.state for x in await _subscriptions(s)] == [SubscriptionState.ACTIVE]
    assert (await _balance(s.db)).balance == before  # +20.00 revenue, -20.00 back
    async with s.db.transaction() as session:  # as if that was a few minutes ago
        await session.execute(
            update(StarPayment)
            .where(StarPayment.id == charge.id)
            .values(refund_begun_at=now() - EARLIER, refund_claimed_until=now() - EARLIER)
        )
    cancels = _asked(s, "editUserStarSubscription")

    finish = stars_job.finish_pending_refunds
    assert await finish(s.db, s.app.bot, admin_chat_id=ADMIN_CHAT_ID, now=now()) == 1
    assert await payment_state(s, charge.id) == StarState.REFUNDED
    assert len(refunds_made(s.api)) == 1
    assert next(iter(s.api.subscriptions.values()))["canceled"] is True
    assert [x.state for x in await _subscriptions(s)] == [SubscriptionState.CANCELLED]
    assert _asked(s, "editUserStarSubscription") == cancels + 1
    told = await s.api.next_event(JOHN)
    assert "the Stars were given back and automatic renewal stopped" in told.text
    assert "automatic renewal stopped" in (await s.api.next_event(ADMIN_CHAT_ID)).text
    assert await s.api.next_period(s.john, link) is None  # Telegram charges no more

    # Again: nothing refunded, cancelled, moved or said twice.
    assert await finish(s.db, s.app.bot, admin_chat_id=ADMIN_CHAT_ID, now=now() + EARLIER) == 0
    await _quiet(s, JOHN, ADMIN_CHAT_ID)
    assert _asked(s, "editUserStarSubscription") == cancels + 1
    assert len(refunds_made(s.api)) == 1
    assert (await _balance(s.db)).balance == before
    await assert_audit_ok(s.db)


async def test_an_admins_refund_of_a_done_renewal_refused_on_retry_gives_the_revenue_back(
    shop: Shop,  # noqa: F811
) -> None:
    """An admin refunds a renewal john paid and got (↩️ Refund in /stars, the revenue taken
    back); Telegram's answer is lost. Asked again, Telegram refuses: it was the admin's
    refund, so the revenue comes back as for a refused top-up refund (not left pending
    for ever as a customer's automatic one, with no way back for the reseller)."""
    s = shop
    boss = s.api.user(ADMIN_ID, "Boss")
    await _sell_and_link(s)
    await _offer_prices(s, 10)
    _, invoice = await _invoice(s)
    await s.api.pay(s.john, invoice)
    assert "renewed" in (await s.api.next_event(JOHN)).text
    await s.api.next_event(ALICE)  # the reseller's margin
    assert await payment_state(s, 1) == StarState.PAID
    before = (await _balance(s.db)).balance
    await star_refunds.begin_refund(
        s.db, payment_id=1, admin_id=ADMIN_ID, reason="paid by mistake", now=now() - EARLIER
    )
    assert (await _balance(s.db)).balance == before - 2_000  # the 20.00 revenue out
    async with s.db.transaction() as session:  # its caller stopped: its lease ran out
        await session.execute(update(StarPayment).values(refund_claimed_until=None))

    await s.api.send(boss, "/stars")
    listed = await s.api.next_event(ADMIN_ID)
    s.api.fail("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")
    await s.api.answer(await s.api.tap(boss, listed, callbacks.REFUND_RETRY.build(1)))
    told = await s.api.next_event(ADMIN_ID)
    assert "Telegram refused the refund" in told.text and "credits were restored" in told.text
    assert await payment_state(s, 1) == StarState.PAID
    assert (await _balance(s.db)).balance == before
    await _quiet(s, JOHN, ALICE)  # no one told of a refund that was not made
    assert refunds_made(s.api) == []
    await assert_audit_ok(s.db)
