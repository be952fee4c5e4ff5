"""Stars top-ups through the real application and the fake Bot API: the invoice, the
pre-checkout, the payment (delivered twice), refunds, Telegram's own refunds,
reconciliation and /paysupport."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select, update

from bot.context import BotApplication
from bot.db import Database
from bot.services import ledger, ledger_postings, resellers, star_methods
from bot.services.resellers import require_by_telegram_id
from bot.settings import Settings
from handlers.payments import callbacks
from jobs import stars as stars_job
from models import (
    AdminAction,
    EntryKind,
    ResellerStatus,
    StarPayment,
    StarState,
    TopUpRequest,
    Transfer,
)
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, now, setup_topups

ALICE, MALLORY = 1001, 1666


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The outbox job runs, as in production: that is how the admin group hears."""
    return settings.model_copy(update={"jobs_enabled": True, "outbox_interval_seconds": 0.5})


@pytest.fixture
async def alice(db: Database, fake_api: FakeBotAPI) -> User:
    await make_reseller(db, ALICE, name="Alice", credit=1_000)
    await setup_topups(db)
    await star_methods.configure(db, code="stars", name="Telegram Stars", rate=200, now=now())
    return fake_api.user(ALICE, "Alice")


@pytest.fixture
def boss(bot: BotApplication, fake_api: FakeBotAPI) -> User:
    return fake_api.user(ADMIN_ID, "Boss")


async def _balance(db: Database) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, ALICE)
        return await ledger.balance(session, reseller.account_id)


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    return await fake_api.answer(await fake_api.tap(user, event, data))


async def _invoice(fake_api: FakeBotAPI, user: User, amount: str = "500") -> tuple[Event, Event]:
    """/topup, an amount, the Stars method: the conversion screen and the invoice."""
    await fake_api.send(user, "/topup")
    await fake_api.next_event(user.id)
    await fake_api.send(user, amount)
    priced = await fake_api.next_event(user.id)
    await _tap(fake_api, user, priced, priced.button("Telegram Stars"))
    screen = await fake_api.next_event(user.id)
    assert screen.method == "editMessageText"
    assert screen.message["message_id"] == priced.message["message_id"]
    invoice = await fake_api.next_event(user.id)
    assert invoice.method == "sendInvoice"
    return screen, invoice


async def _paid(fake_api: FakeBotAPI, user: User) -> tuple[Event, dict[str, Any]]:
    _, invoice = await _invoice(fake_api, user)
    message = await fake_api.pay(user, invoice)
    reply = await fake_api.next_event(user.id)
    assert "Payment received" in reply.text
    return reply, message


async def _refund_screen(fake_api: FakeBotAPI, boss: User, post: Event) -> Event:
    """↩️ Refund on the group's post, the reason replied: the confirmation."""
    await _tap(fake_api, boss, post, post.button("Refund"))
    prompt = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Reply to this message with the reason" in prompt.text
    await fake_api.send(boss, "asked by <the> reseller", chat_id=ADMIN_CHAT_ID, reply_to=prompt)
    screen = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Reason: asked by &lt;the&gt; reseller" in screen.text
    return screen


async def _count(db: Database, query: Any) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(query) or 0)


async def test_a_reseller_pays_250_stars_and_the_credits_arrive_with_no_admin_action(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    screen, invoice = await _invoice(fake_api, alice)
    assert "Credits: <b>500.00 credits</b>" in screen.text
    assert "1 Star = 2.00 credits" in screen.text and "To pay: <b>250 Stars</b>" in screen.text
    sent = fake_api.invoices[-1]
    assert sent["currency"] == "XTR" and sent.get("provider_token", "") == ""  # none or empty
    assert [p["amount"] for p in sent["prices"]] == [250]
    assert 1 <= len(sent["payload"].encode()) <= 128
    assert (await _balance(db)).balance == 1_000  # nothing before the payment

    message = await fake_api.pay(alice, invoice)
    reply = await fake_api.next_event(alice.id)
    assert "Payment received: 250 Stars. <b>500.00 credits</b> added." in reply.text
    assert "Balance: <b>510.00 credits</b>" in reply.text
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "<b>Alice</b> (<code>1001</code>) paid 250 Stars: 500.00 credits added" in post.text
    assert [label for label, _ in post.buttons] == ["↩️ Refund"]  # information, no approval

    await fake_api.deliver_again(message)  # Telegram repeats the update
    await asyncio.sleep(1.0)
    assert fake_api.unread(alice.id) == [] and fake_api.unread(ADMIN_CHAT_ID) == []
    assert (await _balance(db)).balance == 51_000
    topups = select(func.count()).select_from(Transfer).where(Transfer.kind == EntryKind.TOPUP)
    assert await _count(db, topups) == 1  # the one payment, granted once
    async with db.transaction() as session:
        request = await session.scalar(select(TopUpRequest))
        assert request is not None and (request.status, request.credits) == ("approved", 50_000)
    await fake_api.send(alice, "/topups")
    listed = await fake_api.next_event(alice.id)
    assert "#1 · " in listed.text and "500.00 credits · 250 Stars · " in listed.text
    await assert_audit_ok(db)


async def test_pre_checkout_is_refused_after_the_invoice_is_cancelled(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    screen, invoice = await _invoice(fake_api, alice)
    await _tap(fake_api, alice, screen, screen.button("Cancel the invoice"))
    cancelled = await fake_api.next_event(alice.id)
    assert "nothing was charged" in cancelled.text
    answered = await fake_api.pre_checkout(alice, invoice)
    assert answered["ok"] is False and "cancelled" in answered["error_message"]
    assert (await _balance(db)).balance == 1_000


async def test_a_rate_change_refuses_the_old_invoice_and_offers_a_fresh_one(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    _, old = await _invoice(fake_api, alice)
    await star_methods.configure(db, code="stars", name="Telegram Stars", rate=250, now=now())
    answered = await fake_api.pre_checkout(alice, old)
    assert answered["ok"] is False and "changed" in answered["error_message"]
    notice = await fake_api.next_event(alice.id)
    assert "The rate changed" in notice.text and "To pay: <b>200 Stars</b>" in notice.text
    fresh = await fake_api.next_event(alice.id)
    assert fresh.method == "sendInvoice" and fresh.message["invoice"]["total_amount"] == 200
    await fake_api.pay(alice, fresh)
    assert "500.00 credits</b> added" in (await fake_api.next_event(alice.id)).text
    states = [s for s in (await _states(db)).values()]
    assert sorted(states) == [StarState.CANCELLED, StarState.PAID]
    await assert_audit_ok(db)


async def _states(db: Database) -> dict[int, str]:
    async with db.transaction() as session:
        return {p.id: p.state for p in await session.scalars(select(StarPayment))}


async def test_a_suspended_resellers_payment_is_refused_at_pre_checkout(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    _, invoice = await _invoice(fake_api, alice)
    await resellers.set_status(
        db, telegram_id=ALICE, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    answered = await fake_api.pre_checkout(alice, invoice)
    assert answered["ok"] is False and "suspended" in answered["error_message"]


async def test_an_admin_refunds_a_payment_whose_credits_are_available(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    screen = await _refund_screen(fake_api, boss, post)
    await _tap(fake_api, boss, screen, screen.button("Refund 250 Stars"))
    done = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Refunded." in done.text and "500.00 credits were taken back" in done.text
    assert (await _balance(db)).balance == 1_000
    assert [t["id"] for t in fake_api.star_transactions if "receiver" in t] == [
        t["id"] for t in fake_api.star_transactions if "source" in t
    ]
    told = await fake_api.next_event(alice.id)
    assert "was refunded: 250 Stars returned, 500.00 credits removed" in told.text
    assert list((await _states(db)).values()) == [StarState.REFUNDED]
    logged = (
        select(func.count()).select_from(AdminAction).where(AdminAction.action == "stars_refunded")
    )
    assert await _count(db, logged) == 1
    await assert_audit_ok(db)


async def test_a_refund_is_refused_when_the_credits_were_spent(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    async with db.transaction() as session:
        reseller = await require_by_telegram_id(session, ALICE)
        await ledger_postings.spend(
            session, account_id=reseller.account_id, amount=20_000,
            kind=EntryKind.ACTIVATION, actor="test", key="sale-1",
        )  # fmt: skip
    screen = await _refund_screen(fake_api, boss, post)
    await _tap(fake_api, boss, screen, screen.button("Refund 250 Stars"))
    refused = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Cannot refund: only 310.00 credits of its 500.00 credits" in refused.text
    assert (await _balance(db)).balance == 31_000
    assert not [t for t in fake_api.star_transactions if "receiver" in t]
    assert list((await _states(db)).values()) == [StarState.PAID]
    await assert_audit_ok(db)


async def test_a_refund_telegram_refuses_restores_the_credits_and_says_why(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    screen = await _refund_screen(fake_api, boss, post)
    fake_api.fail("refundStarPayment", 400, "Bad Request: CHARGE_NOT_FOUND")
    await _tap(fake_api, boss, screen, screen.button("Refund 250 Stars"))
    told = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Telegram refused the refund" in told.text
    assert "charge_not_found" in told.text.lower()
    assert "The credits were restored" in told.text
    assert (await _balance(db)).balance == 51_000
    assert list((await _states(db)).values()) == [StarState.PAID]
    await assert_audit_ok(db)


async def test_telegram_saying_already_refunded_records_the_refund_without_restoring(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    """Telegram may answer CHARGE_ALREADY_REFUNDED to a refund it made: the Stars are back
    with the payer, so the credits stay removed."""
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    screen = await _refund_screen(fake_api, boss, post)
    fake_api.fail("refundStarPayment", 400, "Bad Request: CHARGE_ALREADY_REFUNDED")
    await _tap(fake_api, boss, screen, screen.button("Refund 250 Stars"))
    told = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "already returned: recorded as refunded" in told.text
    assert (await _balance(db)).balance == 1_000
    assert list((await _states(db)).values()) == [StarState.REFUNDED]
    await assert_audit_ok(db)


async def test_a_refund_telegram_does_not_answer_stays_pending_and_can_be_asked_again(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    screen = await _refund_screen(fake_api, boss, post)
    fake_api.fail("refundStarPayment", 502, "Bad Gateway")
    await _tap(fake_api, boss, screen, screen.button("Refund 250 Stars"))
    told = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Telegram did not answer" in told.text and "stays pending" in told.text
    assert (await _balance(db)).balance == 1_000
    assert list((await _states(db)).values()) == [StarState.REFUND_PENDING]
    retry = callbacks.REFUND_RETRY.build(1)
    assert told.buttons == [("🔁 Ask Telegram again", retry)]
    # ↩️ Refund again: decided already (the reason recorded), so Telegram is asked at once.
    fake_api.fail("refundStarPayment", 502, "Bad Gateway")
    await _tap(fake_api, boss, post, post.button("Refund"))
    again = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Telegram did not answer" in again.text and again.buttons == told.buttons
    assert (await _balance(db)).balance == 1_000  # taken once
    await _tap(fake_api, boss, again, retry)  # 🔁 Ask Telegram again
    assert "Refunded." in (await fake_api.next_event(ADMIN_CHAT_ID)).text
    assert (await _balance(db)).balance == 1_000  # taken once
    assert list((await _states(db)).values()) == [StarState.REFUNDED]
    # The stale buttons: refused, nothing asked or moved again.
    stale = await fake_api.answer(await fake_api.tap(boss, told, retry))
    assert "no longer pending: it is refunded" in stale["text"]
    stale = await fake_api.answer(await fake_api.tap(boss, post, post.button("Refund")))
    assert "cannot be refunded: it is refunded" in stale["text"]
    await asyncio.sleep(1.0)
    assert fake_api.unread(ADMIN_CHAT_ID) == []
    assert len([tx for tx in fake_api.star_transactions if "receiver" in tx]) == 1
    assert (await _balance(db)).balance == 1_000
    await assert_audit_ok(db)


async def test_a_refund_made_by_telegram_takes_the_credits_back_and_tells_everyone(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    await fake_api.next_event(ADMIN_CHAT_ID)
    charge = fake_api.star_transactions[-1]["id"]
    await fake_api.refund_by_telegram(alice, charge)
    told = await fake_api.next_event(alice.id)
    assert "was refunded: 250 Stars returned, 500.00 credits removed" in told.text
    group = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Telegram refunded Stars payment #1" in group.text
    assert (await _balance(db)).balance == 1_000
    await assert_audit_ok(db)


async def test_reconciliation_reports_a_payment_missing_from_the_ledger(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User, bot: BotApplication
) -> None:
    await _paid(fake_api, alice)
    await fake_api.next_event(ADMIN_CHAT_ID)
    # The payment happened 20 minutes ago, here and at Telegram: settled, so compared.
    earlier = now() - dt.timedelta(minutes=20)
    async with db.transaction() as session:
        await session.execute(update(StarPayment).values(paid_at=earlier))
    fake_api.star_transactions[0]["date"] = int(earlier.timestamp())
    clean = await stars_job.run_star_reconciliation(
        db, bot.bot, admin_chat_id=ADMIN_CHAT_ID, now=now()
    )
    assert clean.clean
    fake_api.star_transactions.append(
        {"id": "stxLOSTcharge", "amount": 75, "date": int(earlier.timestamp()),
         "source": {"type": "user", "transaction_type": "invoice_payment",
                    "user": alice.as_dict(), "invoice_payload": "st:unknown"}}
    )  # fmt: skip
    found = await stars_job.run_star_reconciliation(
        db, bot.bot, admin_chat_id=ADMIN_CHAT_ID, now=now()
    )
    assert [(d.kind, d.charge_id) for d in found.items] == [("paid_not_recorded", "stxLOSTcharge")]
    report = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Stars reconciliation" in report.text
    assert "Paid at Telegram, not recorded here: <code>stxLOSTcharge</code> (75 Stars)" in (
        report.text
    )


async def test_paysupport_explains_and_opens_a_request_the_admins_see(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    await fake_api.next_event(ADMIN_CHAT_ID)
    await fake_api.send(alice, "/paysupport")
    assert "Help with a payment" in (await fake_api.next_event(alice.id)).text
    await fake_api.send(alice, "/paysupport I paid <twice>?")
    assert "sent to the admins" in (await fake_api.next_event(alice.id)).text
    request = await fake_api.next_event(ADMIN_CHAT_ID)
    assert "Payment help" in request.text and "I paid &lt;twice&gt;?" in request.text
    assert "Stars payment #1: 250 Stars, 500.00 credits (paid)" in request.text


async def test_a_non_admin_forging_the_refund_button_is_refused_and_nothing_moves(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    post = await fake_api.next_event(ADMIN_CHAT_ID)
    mallory = fake_api.user(MALLORY, "Mallory")
    for forger in (mallory, alice):
        answered = await _tap(fake_api, forger, post, post.button("Refund"))
        assert answered.get("show_alert"), answered
    await asyncio.sleep(0.5)
    assert fake_api.unread(ADMIN_CHAT_ID) == []
    assert (await _balance(db)).balance == 51_000
    assert list((await _states(db)).values()) == [StarState.PAID]
    await assert_audit_ok(db)


async def test_the_admins_stars_list_shows_payments_and_refunds_from_there(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    await _paid(fake_api, alice)
    await fake_api.next_event(ADMIN_CHAT_ID)
    await fake_api.send(alice, "/stars")  # a reseller is no admin
    assert "only" in (await fake_api.next_event(alice.id)).text.lower()
    await fake_api.send(boss, "/stars")
    listing = await fake_api.next_event(boss.id)
    assert "#1 · " in listing.text and "Alice: 250 Stars, 500.00 credits (paid)" in listing.text
    await _tap(fake_api, boss, listing, listing.button("Refund #1"))
    prompt = await fake_api.next_event(boss.id)
    assert "Reply to this message with the reason" in prompt.text
    await fake_api.send(boss, "duplicate")
    screen = await fake_api.next_event(boss.id)
    await _tap(fake_api, boss, screen, screen.button("Refund 250 Stars"))
    assert "Refunded." in (await fake_api.next_event(boss.id)).text
    assert (await _balance(db)).balance == 1_000
    await assert_audit_ok(db)


async def test_a_pre_checkout_check_that_would_miss_telegrams_deadline_is_answered_no(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.services import stars as stars_service
    from handlers.payments import invoice as invoice_handlers

    _, invoice = await _invoice(fake_api, alice)

    async def stuck(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(5)

    monkeypatch.setattr(invoice_handlers, "PRE_CHECKOUT_SECONDS", 0.2)
    monkeypatch.setattr(stars_service, "check_pre_checkout", stuck)
    answered = await fake_api.pre_checkout(alice, invoice)
    assert answered["ok"] is False and "try again" in answered["error_message"]
    assert (await _balance(db)).balance == 1_000


async def test_the_catalogue_card_of_a_stars_method_states_its_rate_and_bounds(
    fake_api: FakeBotAPI, db: Database, alice: User, boss: User
) -> None:
    from handlers.admin.catalogue_callbacks import CARD, Kind

    method = await star_methods.configure(
        db, code="stars", name="Telegram Stars", rate=250, min_credits=1_000,
        max_credits=100_000, now=now(),
    )  # fmt: skip
    await fake_api.send(boss, "/catalogue")
    menu = await fake_api.next_event(boss.id)
    await _tap(fake_api, boss, menu, CARD.build(Kind.METHOD, method.id))
    card = await fake_api.next_event(boss.id)
    assert "<b>Telegram Stars</b>" in card.text
    assert "⭐ Telegram Stars: 1 Star = 2.50 credits, from 10.00 credits, up to 1,000.00" in (
        card.text
    )
    await _tap(fake_api, boss, card, CARD.build(Kind.METHOD, 1))
    assert "1 Star" not in (await fake_api.next_event(boss.id)).text  # a manual method
