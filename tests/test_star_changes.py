"""The change of package paid in Stars, as a service: what is offered, and the
pre-checkout's answers when something moved since the invoice."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.db import Database
from bot.services import (
    customer_links,
    plans,
    resellers,
    sales,
    self_pay,
    star_changes,
    star_methods,
)
from bot.services.provisioning import LocalProvider
from bot.services.star_renewals import Refusal
from bot.services.stars import CURRENCY, StarsError
from models import ResellerStatus
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
    assert list(found) == [setup["hd"]]
    offer = found[setup["hd"]]
    assert (offer.plan_stars, offer.days_left, offer.extra_stars) == (15, 29, 5)
    # Three days later: 26 days left, 26 * 5 / 30 = 4.33, so 5 Stars still.
    later = await star_changes.offers(
        db, chat_id=JOHN, customer_id=setup["john"], plan_ids=plan_ids,
        now=now() + dt.timedelta(days=3),
    )  # fmt: skip
    assert later[setup["hd"]].days_left == 26 and later[setup["hd"]].stars == 20
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
