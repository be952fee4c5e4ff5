"""The change of package paid in Stars, as a service: what is offered, the pre-checkout's
answers when something moved since the invoice, nothing payable while a payment waits
for its outcome, and a second payment for a change already made refunded, not sold."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import (
    customer_links,
    plans,
    resellers,
    sale_errors,
    sales,
    self_pay,
    star_changes,
    star_methods,
    star_renewals,
)
from bot.services.provisioning import ExtendSubscription, LocalProvider, Provisioned
from bot.services.star_renewal_outcome import Outcome, begin_refund, renew, stranded
from bot.services.star_renewals import Refusal
from bot.services.stars import CURRENCY, Payment, StarsError
from models import Customer, ResellerStatus, StarPurpose
from tests.helpers import make_reseller, now

ALICE, JOHN = 1001, 5005


@pytest.fixture
async def setup(db: Database) -> dict[str, int]:
    """John (linked) on m1 (10 Stars), Alice also pricing hd at 15 and lite at 8."""
    ids = {}
    for code, price in (("m1", 1_000), ("hd", 1_500), ("lite", 800)):
        ids[code] = (await plans.add_plan(db, code=code, name=code, days=30, price=price)).id
    await make_reseller(db, ALICE, name="Alice", credit=10_000)
    await star_methods.configure(db, code="stars", name="Stars", rate=200, now=now())
    sold = await sales.sell(
        db, LocalProvider(), telegram_id=ALICE, plan_id=ids["m1"], key="k-john", now=now(),
        provider_seconds=5, username="john",
    )  # fmt: skip
    await customer_links.link(db, token=sold.customer.link_token or "", chat_id=JOHN, now=now())
    await self_pay.set_enabled(db, telegram_id=ALICE, enabled=True, actor="t", now=now())
    for code, stars in (("m1", 10), ("hd", 15), ("lite", 8)):
        await self_pay.set_price(
            db, telegram_id=ALICE, plan_id=ids[code], stars=stars, actor="t", now=now()
        )
    return ids | {"john": sold.customer.id}


async def _check(db: Database, payload: str, stars: int) -> Refusal | None:
    checked = await star_changes.check_pre_checkout(
        db, payload=payload, telegram_id=JOHN, total_amount=stars, currency=CURRENCY, now=now()
    )
    return checked.refusal


async def test_only_a_plan_not_cheaper_in_stars_is_offered(
    db: Database, setup: dict[str, int]
) -> None:
    plan_ids = [setup["hd"], setup["lite"], setup["m1"]]
    found = await star_changes.offers(
        db, chat_id=JOHN, customer_id=setup["john"], plan_ids=plan_ids, now=now()
    )
    assert list(found.by_plan) == [setup["hd"]] and not found.payment_pending
    offer = found.by_plan[setup["hd"]]
    assert (offer.plan_stars, offer.days_left, offer.extra_stars) == (15, 29, 5)
    # Three days later: 26 days left, 26 * 5 / 30 = 4.33, so 5 Stars still.
    later = await star_changes.offers(
        db, chat_id=JOHN, customer_id=setup["john"], plan_ids=plan_ids,
        now=now() + dt.timedelta(days=3),
    )  # fmt: skip
    assert later.by_plan[setup["hd"]].days_left == 26 and later.by_plan[setup["hd"]].stars == 20
    with pytest.raises(StarsError) as refused:
        await star_changes.create_invoice(
            db, chat_id=JOHN, customer_id=setup["john"], plan_id=setup["lite"], now=now()
        )
    assert refused.value.code == Refusal.NOT_OFFERED
    with pytest.raises(StarsError) as other_chat:
        await star_changes.create_invoice(
            db, chat_id=999, customer_id=setup["john"], plan_id=setup["hd"], now=now()
        )
    assert other_chat.value.code == Refusal.NOT_LINKED


async def test_pre_checkout_refuses_what_moved_since_the_invoice(
    db: Database, setup: dict[str, int]
) -> None:
    offer, payment = await star_changes.create_invoice(
        db, chat_id=JOHN, customer_id=setup["john"], plan_id=setup["hd"], now=now()
    )
    assert await _check(db, payment.payload, offer.stars) is None
    assert await _check(db, payment.payload, offer.stars - 1) == Refusal.CHANGED
    # The reseller renewed john meanwhile: more days left, another price.
    await sales.sell(
        db, LocalProvider(), telegram_id=ALICE, plan_id=setup["m1"], key="renew",
        now=now(), provider_seconds=5, customer_id=setup["john"],
    )  # fmt: skip
    assert await _check(db, payment.payload, offer.stars) == Refusal.CHANGED
    await resellers.set_status(
        db, telegram_id=ALICE, status=ResellerStatus.SUSPENDED, actor="t", now=now(),
        reason="test",
    )  # fmt: skip
    assert await _check(db, payment.payload, offer.stars) == Refusal.SUSPENDED
    await plans.set_plan_active(db, plan_id=setup["hd"], active=False, actor="t", now=now())
    refusal = await _check(db, payment.payload, offer.stars)
    assert refusal in (Refusal.SUSPENDED, Refusal.PLAN_UNAVAILABLE)
    # Someone else's payload, or another chat paying it: unknown.
    assert await _check(db, "sc:nothing", offer.stars) == Refusal.UNKNOWN


async def _paid(db: Database, customer_id: int, plan_id: int, charge: str) -> Payment:
    """A change invoice for ``plan_id``, paid (both passed the pre-checkout before)."""
    _, invoice = await star_changes.create_invoice(
        db, chat_id=JOHN, customer_id=customer_id, plan_id=plan_id, now=now()
    )
    recorded = await star_renewals.record_payment(
        db, charge_id=charge, provider_charge_id=None, payload=invoice.payload,
        total_amount=invoice.stars, currency=CURRENCY, now=now(),
        purpose=StarPurpose.PLAN_CHANGE,
    )  # fmt: skip
    return recorded.payment


async def _expiry(db: Database, customer_id: int) -> tuple[int, dt.datetime]:
    async with db.transaction() as session:
        row = (
            await session.execute(
                select(Customer.plan_id, Customer.expires_at).where(Customer.id == customer_id)
            )
        ).one()
        return row[0], row[1]


class _Slow(LocalProvider):
    """A provider that answers only when let go: its order stays pending meanwhile."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.go = asyncio.Event()

    async def extend(self, request: ExtendSubscription) -> Provisioned:
        self.asked.set()
        await self.go.wait()
        return await super().extend(request)


async def test_while_a_paid_change_waits_for_its_outcome_nothing_is_payable(
    db: Database, setup: dict[str, int]
) -> None:
    john = setup["john"]
    _, earlier = await star_changes.create_invoice(
        db, chat_id=JOHN, customer_id=john, plan_id=setup["hd"], now=now()
    )
    _, renewal_invoice = await star_renewals.create_invoice(db, chat_id=JOHN, now=now())
    payment = await _paid(db, john, setup["hd"], "charge-1")
    slow = _Slow()
    running = asyncio.create_task(
        renew(db, slow, payment_id=payment.id, now=now(), provider_seconds=30, panels=None)
    )
    await asyncio.wait_for(slow.asked.wait(), 5)
    found = await star_changes.offers(
        db, chat_id=JOHN, customer_id=john, plan_ids=[setup["hd"]], now=now()
    )
    assert found.by_plan == {} and found.payment_pending
    with pytest.raises(StarsError) as refused:
        await star_changes.create_invoice(
            db, chat_id=JOHN, customer_id=john, plan_id=setup["hd"], now=now()
        )
    assert refused.value.code == Refusal.PAYMENT_PENDING
    assert await _check(db, earlier.payload, earlier.stars) == Refusal.PAYMENT_PENDING
    # Nor a renewal: its sale could not start beside the change either.
    assert await star_renewals.offer_for_chat(db, JOHN, now()) is None
    with pytest.raises(StarsError) as renewal:
        await star_renewals.create_invoice(db, chat_id=JOHN, now=now())
    assert renewal.value.code == Refusal.PAYMENT_PENDING
    checked = await star_renewals.check_pre_checkout(
        db, payload=renewal_invoice.payload, telegram_id=JOHN,
        total_amount=renewal_invoice.stars, currency=CURRENCY, now=now(),
    )  # fmt: skip
    assert checked.refusal == Refusal.PAYMENT_PENDING
    slow.go.set()
    assert (await running).outcome == Outcome.RENEWED
    # Settled: the screen says nothing more of it (the plan is now John's own).
    found = await star_changes.offers(
        db, chat_id=JOHN, customer_id=john, plan_ids=[setup["m1"]], now=now()
    )
    assert not found.payment_pending


async def test_a_second_payment_for_a_change_already_made_is_refunded_not_sold_again(
    db: Database, setup: dict[str, int]
) -> None:
    john = setup["john"]
    _, before = await _expiry(db, john)
    first = await _paid(db, john, setup["hd"], "charge-phone")
    second = await _paid(db, john, setup["hd"], "charge-laptop")
    done = await renew(
        db, LocalProvider(), payment_id=first.id, now=now(), provider_seconds=5, panels=None
    )
    assert done.outcome == Outcome.RENEWED
    again = await renew(
        db, LocalProvider(), payment_id=second.id, now=now(), provider_seconds=5, panels=None
    )
    assert (again.outcome, again.reason) == (Outcome.REFUND, "already_on_plan")
    assert await _expiry(db, john) == (setup["hd"], before + dt.timedelta(days=30))


async def test_two_payments_for_one_change_run_at_once_change_the_package_once(
    db: Database, setup: dict[str, int]
) -> None:
    """Both sales start together (two instances, say): whichever opens its order second,
    under the customer's row lock, finds the first pending or done, and is refunded."""
    john = setup["john"]
    _, before = await _expiry(db, john)
    payments = [await _paid(db, john, setup["hd"], f"charge-{n}") for n in range(2)]
    outcomes = await asyncio.gather(
        *(
            renew(db, LocalProvider(), payment_id=p.id, now=now(), provider_seconds=5, panels=None)
            for p in payments
        )
    )
    assert sorted(o.outcome for o in outcomes) == [Outcome.REFUND, Outcome.RENEWED]
    [refused] = [o for o in outcomes if o.outcome == Outcome.REFUND]
    assert refused.reason in ("already_on_plan", "renewal_in_progress")
    assert await _expiry(db, john) == (setup["hd"], before + dt.timedelta(days=30))


async def test_a_change_sale_reads_the_customer_only_under_its_row_lock(
    db: Database, setup: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A renewal of John's plan is pending; his paid change's sale starts, and the renewal
    completes just before the change takes John's row lock. Read before the lock (as on
    PostgreSQL, where nothing else orders the two), the change saw the renewal neither
    pending nor done and sold from the expiry before it: the provider was asked for 30
    days fewer than John had paid for. Read under the lock, the change either finds the
    renewal pending (SQLite: its completion waits for the change's transaction) and is
    refused, or sees it done and adds its days to the renewed expiry."""
    john = setup["john"]
    _, before = await _expiry(db, john)
    slow = _Slow()
    renew_john = sales.sell(
        db, slow, telegram_id=ALICE, plan_id=setup["m1"], key="renew-john", now=now(),
        provider_seconds=30, customer_id=john,
    )  # fmt: skip
    renewing = asyncio.create_task(renew_john)
    await asyncio.wait_for(slow.asked.wait(), 5)
    original = sales._locked_state
    asked: list[dt.datetime] = []

    async def completes_first(session: AsyncSession, customer_id: int) -> None:
        if not slow.go.is_set():
            slow.go.set()  # the renewal's panel answers now
            await asyncio.wait([renewing], timeout=1.0)  # done, unless it waits for a lock
        return await original(session, customer_id)

    class _Recording(LocalProvider):
        async def extend(self, request: ExtendSubscription) -> Provisioned:
            asked.append(request.expires_at)
            return await super().extend(request)

    monkeypatch.setattr(sales, "_locked_state", completes_first)
    renewed = before + dt.timedelta(days=30)
    try:
        done = await sales.sell(
            db, _Recording(), telegram_id=ALICE, plan_id=setup["hd"], key="change-john",
            now=now(), provider_seconds=5, customer_id=john, refuse_cancelled=True,
            refuse_same_plan=True,
        )  # fmt: skip
    except sale_errors.SaleInProgress as refused:
        assert refused.code == sale_errors.ANOTHER_SALE and asked == []
        await renewing
        assert await _expiry(db, john) == (setup["m1"], renewed)
    else:
        assert renewing.done()
        assert asked == [renewed + dt.timedelta(days=30)]
        assert done.customer.expires_at == renewed + dt.timedelta(days=30)


async def _renewal_paid(db: Database, charge: str) -> Payment:
    """A renewal of John's plan, invoiced and let through the pre-checkout, then paid."""
    _, invoice = await star_renewals.create_invoice(db, chat_id=JOHN, now=now())
    recorded = await star_renewals.record_payment(
        db, charge_id=charge, provider_charge_id=None, payload=invoice.payload,
        total_amount=invoice.stars, currency=CURRENCY, now=now(),
    )  # fmt: skip
    return recorded.payment


async def test_a_renewal_paid_for_the_plan_left_since_is_refunded_not_sold_back(
    db: Database, setup: dict[str, int]
) -> None:
    john = setup["john"]
    _, invoice = await star_renewals.create_invoice(db, chat_id=JOHN, now=now())
    change = await _paid(db, john, setup["hd"], "charge-change")
    done = await renew(
        db, LocalProvider(), payment_id=change.id, now=now(), provider_seconds=5, panels=None
    )
    assert done.outcome == Outcome.RENEWED
    _, changed = await _expiry(db, john)
    recorded = await star_renewals.record_payment(
        db, charge_id="charge-renewal", provider_charge_id=None, payload=invoice.payload,
        total_amount=invoice.stars, currency=CURRENCY, now=now(),
    )  # fmt: skip
    late = await renew(
        db, LocalProvider(), payment_id=recorded.payment.id, now=now(), provider_seconds=5,
        panels=None,
    )  # fmt: skip
    assert (late.outcome, late.reason) == (Outcome.REFUND, "plan_changed")
    assert late.stop_subscription is None  # a single payment: no subscription to stop
    assert await _expiry(db, john) == (setup["hd"], changed)


async def test_a_payment_left_without_its_sale_is_found_after_the_grace_until_it_is_done(
    db: Database, setup: dict[str, int]
) -> None:
    """Paid, recorded, and nothing more (the bot stopped): found once older than the grace,
    not while it may still be in hand; no more once its sale or its refund has begun."""
    paid_at = now()
    renewal = await _renewal_paid(db, "charge-r")
    grace = dt.timedelta(minutes=2)
    assert await stranded(db, paid_before=paid_at - grace) == []
    later = paid_at + dt.timedelta(minutes=3)
    assert await stranded(db, paid_before=later - grace) == [renewal.id]
    done = await renew(
        db, LocalProvider(), payment_id=renewal.id, now=later, provider_seconds=5, panels=None
    )
    assert done.outcome == Outcome.RENEWED
    assert await stranded(db, paid_before=later) == []
    change = await _paid(db, setup["john"], setup["hd"], "charge-c")
    assert await stranded(db, paid_before=later) == [change.id]
    await begin_refund(db, payment_id=change.id, reason="test", now=later)
    assert await stranded(db, paid_before=later) == []
