"""Stars top-ups in the services: the invoice, the pre-checkout check, the payment granted
once, refunds (with credits available, spent, refused by Telegram, reported by Telegram)
and reconciliation with Telegram's transactions."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.services import (
    ledger,
    ledger_postings,
    pay_support,
    resellers,
    star_methods,
    star_payments,
    star_reconcile,
    star_refunds,
    stars,
)
from bot.services.star_reconcile import TelegramTransaction
from bot.services.stars import Refusal, StarsError
from models import (
    AdminAction,
    Billing,
    EntryKind,
    OutboxMessage,
    ResellerStatus,
    StarPayment,
    StarState,
    TopUpRequest,
    Transfer,
)
from tests.helpers import assert_audit_ok, make_reseller, now

ALICE = 1001
GROUP = -100_1234


async def _method(
    db: Database, rate: int = 200, min_credits: int | None = None, max_credits: int | None = None
) -> stars.StarsMethod:
    """A Stars method where one Star buys ``rate`` hundredths of a credit."""
    return await star_methods.configure(
        db, code="stars", name="Telegram Stars", rate=rate, now=now(),
        min_credits=min_credits, max_credits=max_credits,
    )  # fmt: skip


async def _invoice(db: Database, method_id: int, credits: int = 50_000) -> stars.Payment:
    return await stars.create_invoice(
        db, telegram_id=ALICE, method_id=method_id, credits=credits,
        min_credits=1_000, max_credits=10_000_000, now=now(),
    )  # fmt: skip


async def _pay(
    db: Database, payment: stars.Payment, charge: str = "stxCHARGE1"
) -> star_payments.Paid:
    return await star_payments.record_payment(
        db, charge_id=charge, provider_charge_id=None, payload=payment.payload,
        telegram_id=ALICE, total_amount=payment.stars, currency="XTR",
        admin_chat_id=GROUP, now=now(),
    )  # fmt: skip


async def _balance(db: Database) -> ledger.Balance:
    async with db.transaction() as session:
        reseller = await resellers.require_by_telegram_id(session, ALICE)
        return await ledger.balance(session, reseller.account_id)


async def _check(db: Database, payment: stars.Payment, amount: int | None = None) -> Refusal | None:
    checked = await stars.check_pre_checkout(
        db, payload=payment.payload, telegram_id=ALICE,
        total_amount=payment.stars if amount is None else amount, currency="XTR",
    )  # fmt: skip
    return checked.refusal


async def test_an_invoice_asks_whole_stars_rounded_up_and_grants_nothing_yet(db: Database) -> None:
    await make_reseller(db, ALICE)
    method = await _method(db, rate=300)  # 3 credits a Star
    payment = await _invoice(db, method.id, credits=25_000)  # 250 credits
    assert (payment.stars, payment.credits, payment.rate) == (84, 25_000, 300)
    assert payment.state == StarState.INVOICED and 1 <= len(payment.payload.encode()) <= 128
    assert (await _balance(db)).balance == 0
    assert await _check(db, payment) is None


async def test_a_payment_grants_its_credits_once_however_often_it_is_reported(
    db: Database,
) -> None:
    await make_reseller(db, ALICE)
    method = await _method(db)
    payment = await _invoice(db, method.id)
    first = await _pay(db, payment)
    again = await _pay(db, payment)
    assert not first.replayed and again.replayed
    assert first.balance.balance == again.balance.balance == 50_000
    async with db.transaction() as session:
        request = await session.scalar(select(TopUpRequest))
        assert request is not None and request.status == "approved"
        assert request.credits == 50_000 and request.price_currency == "XTR"
        topups = list(
            await session.scalars(select(Transfer).where(Transfer.kind == EntryKind.TOPUP))
        )
        assert len(topups) == 1
        posts = list(await session.scalars(select(OutboxMessage)))
        assert [(m.kind, m.chat_id) for m in posts] == [("stars_paid", GROUP)]
        assert json.loads(posts[0].payload)["stars"] == 250
    assert await _check(db, payment) == Refusal.ALREADY_PAID
    await assert_audit_ok(db)


async def test_pre_checkout_is_refused_after_a_cancel_a_rate_change_or_a_suspension(
    db: Database,
) -> None:
    await make_reseller(db, ALICE)
    method = await _method(db)
    cancelled = await _invoice(db, method.id)
    await stars.cancel_invoice(db, payment_id=cancelled.id, telegram_id=ALICE, now=now())
    assert await _check(db, cancelled) == Refusal.CANCELLED

    before = await _invoice(db, method.id)
    assert await _check(db, before, amount=before.stars - 1) == Refusal.CHANGED
    await _method(db, rate=250)
    assert await _check(db, before) == Refusal.CHANGED
    fresh = await stars.reissue(
        db, payment_id=before.id, telegram_id=ALICE, min_credits=0, max_credits=10**9, now=now()
    )
    assert (fresh.stars, fresh.rate) == (200, 250) and await _check(db, fresh) is None
    assert (await stars.get_payment(db, before.id)).state == StarState.CANCELLED  # type: ignore[union-attr]

    await resellers.set_status(
        db, telegram_id=ALICE, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    assert await _check(db, fresh) == Refusal.SUSPENDED
    with pytest.raises(StarsError) as refused:
        await _invoice(db, method.id)
    assert refused.value.code == "suspended"


async def test_an_invoice_outside_the_methods_bounds_is_refused(db: Database) -> None:
    await make_reseller(db, ALICE)
    method = await _method(db, min_credits=10_000, max_credits=20_000)
    for credits, code in ((9_999, "below_minimum"), (20_001, "above_maximum")):
        with pytest.raises(StarsError) as refused:
            await _invoice(db, method.id, credits)
        assert refused.value.code == code


async def test_a_refund_with_the_credits_available_takes_them_back_and_is_logged(
    db: Database,
) -> None:
    await make_reseller(db, ALICE)
    paid = (await _pay(db, await _invoice(db, (await _method(db)).id))).payment
    pending = await star_refunds.begin_refund(
        db, payment_id=paid.id, admin_id=900, reason="asked by the reseller", now=now()
    )
    assert pending.state == StarState.REFUND_PENDING and (await _balance(db)).balance == 0
    done = await star_refunds.finish_refund(db, payment_id=paid.id, admin_id=900, now=now())
    assert done.state == StarState.REFUNDED and done.refund_reason == "asked by the reseller"
    async with db.transaction() as session:
        logged = await session.scalar(
            select(AdminAction).where(AdminAction.action == "stars_refunded")
        )
        assert logged is not None and logged.actor == "tg:900"
    with pytest.raises(StarsError) as twice:
        await star_refunds.begin_refund(db, payment_id=paid.id, admin_id=900, reason="x", now=now())
    assert twice.value.code == "not_refundable"
    await assert_audit_ok(db)


async def test_a_refund_is_refused_when_the_credits_were_spent_even_on_a_postpaid_limit(
    db: Database,
) -> None:
    await make_reseller(db, ALICE, billing=Billing.POSTPAID, credit_limit=100_000)
    paid = (await _pay(db, await _invoice(db, (await _method(db)).id))).payment
    async with db.transaction() as session:
        reseller = await resellers.require_by_telegram_id(session, ALICE)
        await ledger_postings.spend(
            session, account_id=reseller.account_id, amount=1_000,
            kind=EntryKind.ACTIVATION, actor="test", key="sale-1",
        )  # fmt: skip
    with pytest.raises(StarsError) as refused:
        await star_refunds.begin_refund(db, payment_id=paid.id, admin_id=900, reason="r", now=now())
    assert refused.value.code == "credits_spent" and refused.value.params["missing"] == 1_000
    assert (await stars.get_payment(db, paid.id)).state == StarState.PAID  # type: ignore[union-attr]
    assert (await _balance(db)).balance == 49_000
    await assert_audit_ok(db)


async def test_a_refund_telegram_refuses_gives_the_credits_back(db: Database) -> None:
    await make_reseller(db, ALICE)
    paid = (await _pay(db, await _invoice(db, (await _method(db)).id))).payment
    pending = await star_refunds.begin_refund(
        db, payment_id=paid.id, admin_id=900, reason="r", now=now()
    )
    undone = await star_refunds.undo_refund(
        db, pending=pending, error="CHARGE_ALREADY_REFUNDED", now=now()
    )
    assert undone.state == StarState.PAID and (await _balance(db)).balance == 50_000
    # A second try moves the credits again, under its own keys.
    await star_refunds.begin_refund(db, payment_id=paid.id, admin_id=900, reason="r", now=now())
    assert (await _balance(db)).balance == 0
    await assert_audit_ok(db)


async def test_a_refund_reported_by_telegram_takes_back_what_the_rules_allow(db: Database) -> None:
    await make_reseller(db, ALICE)
    await _pay(db, await _invoice(db, (await _method(db)).id))
    async with db.transaction() as session:
        reseller = await resellers.require_by_telegram_id(session, ALICE)
        await ledger_postings.spend(
            session, account_id=reseller.account_id, amount=30_000,
            kind=EntryKind.ACTIVATION, actor="test", key="sale-1",
        )  # fmt: skip
    done = await star_refunds.record_telegram_refund(
        db, charge_id="stxCHARGE1", admin_chat_id=GROUP, now=now()
    )
    again = await star_refunds.record_telegram_refund(
        db, charge_id="stxCHARGE1", admin_chat_id=GROUP, now=now()
    )
    assert done.state == again.state == StarState.REFUNDED
    assert done.refund_shortfall == 30_000 and (await _balance(db)).balance == 0
    async with db.transaction() as session:
        kinds = [m.kind for m in await session.scalars(select(OutboxMessage))]
    assert kinds.count("stars_telegram_refund") == 1 and kinds.count("stars_refunded") == 1
    await assert_audit_ok(db)


async def test_reconciliation_finds_a_payment_missing_from_the_ledger_and_a_refund_not_made(
    db: Database,
) -> None:
    await make_reseller(db, ALICE)
    method = await _method(db)
    paid = (await _pay(db, await _invoice(db, method.id), charge="stxA")).payment
    other = (await _pay(db, await _invoice(db, method.id), charge="stxB")).payment
    await star_refunds.begin_refund(db, payment_id=other.id, admin_id=900, reason="r", now=now())
    moment = now()
    listed = [
        TelegramTransaction("stxA", paid.stars, moment, incoming=True, user_id=ALICE),
        TelegramTransaction("stxB", other.stars, moment, incoming=True, user_id=ALICE),
        TelegramTransaction("stxLOST", 40, moment, incoming=True, user_id=ALICE),
    ]
    found = await star_reconcile.compare(
        db, listed, since=moment - dt.timedelta(days=1), until=moment + dt.timedelta(minutes=1)
    )
    assert sorted((d.kind, d.charge_id) for d in found.items) == [
        (star_reconcile.PAID_NOT_RECORDED, "stxLOST"),
        (star_reconcile.REFUND_NOT_MADE, "stxB"),
    ]
    clean = await star_reconcile.compare(
        db, listed[:1], since=moment - dt.timedelta(days=1), until=moment + dt.timedelta(minutes=1)
    )
    assert [d.kind for d in clean.items] == [
        star_reconcile.RECORDED_NOT_PAID, star_reconcile.REFUND_NOT_MADE
    ]  # fmt: skip
    async with db.transaction() as session:
        assert await session.scalar(
            select(StarPayment.state).where(StarPayment.id == other.id)
        ) == (StarState.REFUND_PENDING)


def test_the_cli_adds_a_stars_method_changes_its_rate_and_refuses_a_manual_ones_code(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot import cli
    from tests.conftest import database_from_url

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CURRENCY", "credits")
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setattr("bot.db.Database.from_url", staticmethod(database_from_url))
    stars_args = ["payment-method", "stars", "--code", "stars", "--name", "Telegram Stars"]
    assert cli.main([*stars_args, "--credits-per-star", "2", "--min-credits", "10"]) == 0
    assert "1 Star = 2.00 credits, from 10.00 credits" in capsys.readouterr().out
    assert cli.main([*stars_args, "--credits-per-star", "2,5"]) == 0
    assert "1 Star = 2.50 credits." in capsys.readouterr().out
    assert cli.main(["payment-method", "list"]) == 0
    assert "Stars: 1 Star = 2.50 credits, min -, max -" in capsys.readouterr().out
    manual = ["payment-method", "add", "--code", "bank", "--name", "Bank", "--instructions", "x"]
    assert cli.main(manual) == 0
    bank = ["payment-method", "stars", "--code", "bank", "--name", "Bank"]
    assert cli.main([*bank, "--credits-per-star", "2"]) == 1
    assert "error: Payment method 'bank' is not a Stars method." in capsys.readouterr().err


async def test_a_payment_for_no_known_invoice_or_the_wrong_amount_grants_nothing(
    db: Database,
) -> None:
    await make_reseller(db, ALICE)
    payment = await _invoice(db, (await _method(db)).id)
    for payload, amount, code in (
        ("st:forged", payment.stars, "unknown_payload"),
        (payment.payload, payment.stars - 1, "amount_mismatch"),
    ):
        with pytest.raises(StarsError) as refused:
            await star_payments.record_payment(
                db, charge_id="stxX", provider_charge_id=None, payload=payload,
                telegram_id=ALICE, total_amount=amount, currency="XTR",
                admin_chat_id=GROUP, now=now(),
            )  # fmt: skip
        assert refused.value.code == code
    assert (await _balance(db)).balance == 0
    await assert_audit_ok(db)


async def test_a_paysupport_request_is_queued_once_with_the_askers_payments(
    db: Database,
) -> None:
    await make_reseller(db, ALICE)
    await _pay(db, await _invoice(db, (await _method(db)).id))
    for text, code in (("   ", "support_empty"), ("x" * 1001, "support_too_long")):
        with pytest.raises(StarsError) as refused:
            await pay_support.open_request(
                db, telegram_id=ALICE, name="Alice", text=text, message_id=1,
                admin_chat_id=GROUP, now=now(),
            )  # fmt: skip
        assert refused.value.code == code
    for _ in range(2):  # the same message twice (a repeated update): one request
        opened = await pay_support.open_request(
            db, telegram_id=ALICE, name="Alice", text="paid twice", message_id=7,
            admin_chat_id=GROUP, now=now(),
        )  # fmt: skip
        assert opened.payments == 1
    async with db.transaction() as session:
        kinds = [m.kind for m in await session.scalars(select(OutboxMessage))]
    assert kinds.count("pay_support") == 1
