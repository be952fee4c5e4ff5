"""Focused tests of pricing and the top-up state machine, on both databases."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from sqlalchemy import func, select, update

from bot.db import Database
from bot.i18n import SOURCE
from bot.services import ledger, pricing, topup_decisions, topup_reads, topups
from bot.services.alerts import Kind
from bot.services.topup_decisions import (
    AlreadyDecided,
    OwnRequest,
    ReasonTooLong,
    ResellerSuspended,
)
from bot.services.topup_reads import Proof, TopUpError
from bot.services.topups import Limits
from bot.settings import Settings
from jobs import notices
from models import OutboxMessage, ProofKind, Reseller, ResellerStatus, TopUpStatus, Transfer
from tests.helpers import assert_audit_ok, make_reseller, setup_topups

LIMITS = Limits(min_credits=1_000, max_credits=10_000_000, max_pending=3, currency="USD")
REF = Proof(ProofKind.REFERENCE, reference="TX-12345")
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)


async def _method_id(db: Database, code: str) -> int:
    return next(m.id for m in await pricing.list_methods(db) if m.code == code)


async def _create(db: Database, key: str, credits: int = 10_000, telegram_id: int = 1001):
    return await topups.create_request(
        db, telegram_id=telegram_id, credits=credits, method_id=await _method_id(db, "bank"),
        proof=REF, key=key, limits=LIMITS,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("credits", "unit", "total"),
    [(10_000, 100, 10_000), (49_999, 100, 49_999), (50_000, 90, 45_000), (10_050, 100, 10_050)],
)
async def test_tiers_price_in_bulk(db: Database, credits: int, unit: int, total: int) -> None:
    await setup_topups(db)
    quote, methods = await topups.price(db, credits, LIMITS)
    assert (quote.unit_price, quote.total) == (unit, total)
    # USDT needs 50.00 or more.
    assert [m.code for m in methods] == (["bank", "usdt"] if total >= 5_000 else ["bank"])


def test_prices_round_half_up_to_the_cent() -> None:
    assert pricing.price_of(1, 150) == 2  # 0.01 credit at 1.50 = 0.015 -> 0.02
    assert pricing.price_of(1, 149) == 1
    assert pricing.price_of(12_345, 99) == 12_222  # 123.45 * 0.99 = 122.2155


async def test_amount_outside_limits_or_tiers_is_refused(db: Database) -> None:
    await setup_topups(db)
    with pytest.raises(TopUpError, match=r"smallest top-up is 10\.00"):
        await topups.price(db, 999, LIMITS)
    with pytest.raises(TopUpError, match=r"largest top-up is 100000\.00"):
        await topups.price(db, 10_000_001, LIMITS)


async def test_create_is_idempotent_per_key_and_limited_per_reseller(db: Database) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    first, created = await _create(db, "k1")
    again, created_again = await _create(db, "k1")
    assert created and not created_again and again.id == first.id
    await _create(db, "k2")
    await _create(db, "k3")
    with pytest.raises(TopUpError, match="already have 3"):
        await _create(db, "k4")


async def test_concurrent_submissions_respect_the_pending_limit(db: Database) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    results = await asyncio.gather(
        *(_create(db, f"k{i}") for i in range(6)), return_exceptions=True
    )
    assert sum(1 for r in results if not isinstance(r, BaseException)) == 3
    assert all(isinstance(r, TopUpError) for r in results if isinstance(r, BaseException))


async def test_approve_grants_once_and_racing_decisions_make_one_transition(db: Database) -> None:
    alice = await make_reseller(db, 1001, credit=1_000)
    await setup_topups(db)
    request, _ = await _create(db, "k1")

    async def decide(i: int):
        if i % 2:
            return await topup_decisions.reject(
                db, request_id=request.id, admin_id=900 + i, admin_name=f"a{i}",
                reason="no", now=NOW,
            )  # fmt: skip
        return await topup_decisions.approve(
            db, request_id=request.id, admin_id=900 + i, admin_name=f"a{i}", now=NOW
        )

    results = await asyncio.gather(*(decide(i) for i in range(6)), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, AlreadyDecided) for r in results if isinstance(r, BaseException)), (
        results
    )
    final = await topup_reads.get_request(db, request.id)
    assert final is not None
    async with db.transaction() as session:
        balance = await ledger.balance(session, alice.account_id)
        topup_transfers = await session.scalar(
            select(func.count()).select_from(Transfer).where(Transfer.kind == "topup")
        )
    if final.status == TopUpStatus.APPROVED:
        assert balance.balance == 11_000 and topup_transfers == 1
    else:
        assert final.status == TopUpStatus.REJECTED
        assert balance.balance == 1_000 and topup_transfers == 0
    await assert_audit_ok(db)


async def test_cancelled_request_cannot_be_approved(db: Database) -> None:
    await make_reseller(db, 1001)
    await make_reseller(db, 1002, name="Bob")
    await setup_topups(db)
    request, _ = await _create(db, "k1")
    with pytest.raises(TopUpError, match="no such"):
        await topups.cancel(db, request_id=request.id, telegram_id=1002, now=NOW)
    await topups.cancel(db, request_id=request.id, telegram_id=1001, now=NOW)
    with pytest.raises(AlreadyDecided) as refused:
        await topup_decisions.approve(
            db, request_id=request.id, admin_id=900, admin_name="a", now=NOW
        )
    assert refused.value.request.status == TopUpStatus.CANCELLED
    with pytest.raises(TopUpError, match="no top-up request #999"):
        await topup_decisions.approve(db, request_id=999, admin_id=900, admin_name="a", now=NOW)


async def test_reject_reason_is_bounded_and_kept(db: Database) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    request, _ = await _create(db, "k1")
    with pytest.raises(ReasonTooLong):
        await topup_decisions.reject(
            db, request_id=request.id, admin_id=900, admin_name="a", reason="x" * 256, now=NOW
        )
    decision = await topup_decisions.reject(
        db, request_id=request.id, admin_id=900, admin_name="a", reason=" fake receipt ", now=NOW
    )
    assert decision.request.reject_reason == "fake receipt"


async def test_method_disabled_before_confirming_is_refused(db: Database) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    method_id = await _method_id(db, "bank")
    await pricing.disable_method(db, code="bank")
    with pytest.raises(TopUpError, match="no longer available"):
        await _create(db, "k1")
    with pytest.raises(TopUpError, match="not available"):
        await topups.available_method(db, method_id, 10_000)


async def test_a_request_is_refused_at_a_price_or_method_other_than_the_one_shown(
    db: Database,
) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    quote, method = await topups.offer(db, 10_000, await _method_id(db, "bank"), LIMITS)
    shown = {"unit_price": quote.unit_price, "method_version": pricing.version(method)}
    await pricing.remove_tier(db, min_credits=0)
    await pricing.add_tier(db, min_credits=0, unit_price=120)

    async def create(**seen: object) -> None:
        await topups.create_request(
            db, telegram_id=1001, credits=10_000, method_id=method.id, proof=REF, key="k1",
            limits=LIMITS, **seen,  # type: ignore[arg-type]
        )  # fmt: skip

    with pytest.raises(TopUpError) as refused:
        await create(**shown)
    assert refused.value.code == "offer_changed"
    with pytest.raises(TopUpError) as refused:
        await create(unit_price=120, method_version="not-what-was-shown")
    assert refused.value.code == "offer_changed"
    assert await topup_reads.list_for_reseller(db, 1001) == []
    await create(unit_price=120, method_version=shown["method_version"])
    [request] = await topup_reads.list_for_reseller(db, 1001)
    assert request.total_price == 12_000


async def _outbox(db: Database) -> list[tuple[str, int, str, dict[str, object]]]:
    async with db.transaction() as session:
        rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
        return [(m.key, m.chat_id, m.kind, json.loads(m.payload)) for m in rows]


async def _set_status(db: Database, telegram_id: int, status: ResellerStatus) -> None:
    async with db.transaction() as session:
        await session.execute(
            update(Reseller).where(Reseller.telegram_id == telegram_id).values(status=status)
        )


async def test_an_admin_who_is_a_reseller_cannot_approve_their_own_request(db: Database) -> None:
    boss = await make_reseller(db, 900, name="Boss", credit=1_000)
    await setup_topups(db)
    request, _ = await _create(db, "k1", telegram_id=900)
    with pytest.raises(OwnRequest, match="another admin must decide"):
        await topup_decisions.approve(
            db, request_id=request.id, admin_id=900, admin_name="b", now=NOW
        )
    still = await topup_reads.get_request(db, request.id)
    assert still is not None and still.status == TopUpStatus.PENDING
    assert (await topup_reads.current_balance(db, boss.id)).balance == 1_000
    assert await _outbox(db) == []
    decision = await topup_decisions.approve(
        db, request_id=request.id, admin_id=901, admin_name="deputy", now=NOW
    )
    assert decision.request.status == TopUpStatus.APPROVED
    assert (await topup_reads.current_balance(db, boss.id)).balance == 11_000
    await assert_audit_ok(db)


async def test_a_suspended_resellers_request_stays_pending_until_they_are_active(
    db: Database,
) -> None:
    alice = await make_reseller(db, 1001, credit=1_000)
    await setup_topups(db)
    request, _ = await _create(db, "k1")
    await _set_status(db, 1001, ResellerStatus.SUSPENDED)
    with pytest.raises(ResellerSuspended, match="Alice is suspended") as refused:
        await topup_decisions.approve(
            db, request_id=request.id, admin_id=900, admin_name="a", now=NOW
        )
    assert refused.value.request.status == TopUpStatus.PENDING
    still = await topup_reads.get_request(db, request.id)
    assert still is not None and still.status == TopUpStatus.PENDING
    assert (await topup_reads.current_balance(db, alice.id)).balance == 1_000
    assert await _outbox(db) == []
    await _set_status(db, 1001, ResellerStatus.ACTIVE)
    await topup_decisions.approve(db, request_id=request.id, admin_id=900, admin_name="a", now=NOW)
    assert (await topup_reads.current_balance(db, alice.id)).balance == 11_000
    await assert_audit_ok(db)


async def test_a_decision_queues_the_resellers_notice_with_it(db: Database) -> None:
    await make_reseller(db, 1001, credit=1_000)
    await setup_topups(db)
    first, _ = await _create(db, "k1")
    second, _ = await _create(db, "k2", credits=2_000)
    # Committed with the decision: nothing else has to run for the reseller to be told.
    await topup_decisions.approve(db, request_id=first.id, admin_id=900, admin_name="a", now=NOW)
    await topup_decisions.reject(
        db, request_id=second.id, admin_id=900, admin_name="a", reason=" fake ", now=NOW
    )
    assert await _outbox(db) == [
        (
            f"topup_approved:{first.id}",
            1001,
            "topup_approved",
            {"request_id": first.id, "credits": 10_000, "balance": 11_000, "available": 11_000},
        ),
        (
            f"topup_rejected:{second.id}",
            1001,
            "topup_rejected",
            {"request_id": second.id, "credits": 2_000, "reason": "fake"},
        ),
    ]
    # A repeated tap decides nothing and queues nothing more.
    with pytest.raises(AlreadyDecided):
        await topup_decisions.approve(
            db, request_id=first.id, admin_id=901, admin_name="b", now=NOW
        )
    assert len(await _outbox(db)) == 2


async def test_a_refused_decision_queues_no_notice(db: Database) -> None:
    await make_reseller(db, 1001)
    await setup_topups(db)
    request, _ = await _create(db, "k1")
    with pytest.raises(ReasonTooLong):
        await topup_decisions.reject(
            db, request_id=request.id, admin_id=900, admin_name="a", reason="x" * 256, now=NOW
        )
    await topups.cancel(db, request_id=request.id, telegram_id=1001, now=NOW)
    with pytest.raises(AlreadyDecided):
        await topup_decisions.reject(
            db, request_id=request.id, admin_id=900, admin_name="a", reason=None, now=NOW
        )
    assert await _outbox(db) == []


def test_the_decision_notices_render_for_the_reseller() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    text, buttons = notices.render(
        Kind.TOPUP_APPROVED,
        {"request_id": 7, "credits": 10_000, "balance": 11_000, "available": 10_500},
        settings,
        SOURCE,
    )
    assert text == (
        "✅ Your top-up #7 was approved: +100.00 credits.\n"
        "Balance: 110.00 credits (available 105.00 credits)."
    )
    assert buttons is None
    text, buttons = notices.render(
        Kind.TOPUP_REJECTED, {"request_id": 8, "credits": 2_000, "reason": "<fake>"}, settings,
        SOURCE,
    )  # fmt: skip
    assert "#8 of 20.00 credits was rejected" in text and "Reason: &lt;fake&gt;" in text
    assert buttons is not None
    text, _ = notices.render(
        Kind.TOPUP_REJECTED, {"request_id": 8, "credits": 2_000, "reason": None}, settings,
        SOURCE,
    )  # fmt: skip
    assert "Reason" not in text
