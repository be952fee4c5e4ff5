"""The admin's view of resellers as a service: search and filters, the card's figures,
and edits that are checked, saved once, logged and told to the reseller."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.db import Database
from bot.services import plans, reseller_search, resellers, sales
from bot.services.admin_log import ActionError
from bot.services.provisioning import LocalProvider
from bot.services.reseller_search import Field, ListFilter
from models import AdminAction, Billing, ChatLanguage, OutboxMessage, ResellerStatus
from tests.helpers import assert_audit_ok, make_reseller, now

UTC = ZoneInfo("UTC")


async def _names(
    db: Database, query: str | None = None, flt: ListFilter = ListFilter.ALL
) -> list[str]:
    return [row.reseller.name for row in await reseller_search.search(db, query=query, flt=flt)]


async def _people(db: Database) -> None:
    await make_reseller(db, 1001, name="Alice", credit=5_000, threshold=10_000, username="alice_s")
    await make_reseller(
        db, 1002, name="Bob", billing=Billing.POSTPAID, credit_limit=20_000, username="bobby"
    )
    await make_reseller(db, 1003, name="Carol", credit=3_000)
    await make_reseller(db, 1004, name="Dave", billing=Billing.POSTPAID, credit_limit=5_000)
    await resellers.set_status(
        db, telegram_id=1003, status=ResellerStatus.SUSPENDED, actor="test", now=now()
    )
    # Bob sells on credit: he owes 10.00.
    plan = await plans.add_plan(db, code="m1", name="Monthly", days=30, price=1_000)
    await sales.sell(
        db, LocalProvider(), telegram_id=1002, plan_id=plan.id, key="s1", now=now(),
        provider_seconds=5, username="bobs.customer",
    )  # fmt: skip


async def test_search_finds_by_name_username_or_id_and_each_filter_narrows(db: Database) -> None:
    await _people(db)
    assert await _names(db) == ["Alice", "Bob", "Carol", "Dave"]
    assert await _names(db, "ali") == ["Alice"]
    assert await _names(db, "@BOBBY") == ["Bob"]
    assert await _names(db, "@bob") == []  # an @username is matched whole
    assert await _names(db, "1003") == ["Carol"]
    assert await _names(db, "100") == []  # an id is matched whole, not as a part
    assert await _names(db, "a%") == []  # wildcards are searched for, not expanded
    # Digits that make no number, and ids past a 64-bit integer, find nothing (no crash).
    assert await _names(db, "10²") == []
    assert await _names(db, "9" * 30) == []
    assert await _names(db, "۱۰۰۳") == ["Carol"]  # Persian digits are digits
    assert await _names(db, flt=ListFilter.PREPAID) == ["Alice", "Carol"]
    assert await _names(db, flt=ListFilter.POSTPAID) == ["Bob", "Dave"]
    assert await _names(db, flt=ListFilter.SUSPENDED) == ["Carol"]
    # Alice has 50.00 under a 100.00 threshold; Bob is at -10.00 under 0.
    assert await _names(db, flt=ListFilter.BELOW_THRESHOLD) == ["Alice", "Bob"]
    assert await _names(db, flt=ListFilter.OWING) == ["Bob"]
    assert await _names(db, "o", flt=ListFilter.POSTPAID) == ["Bob"]


async def test_the_card_counts_customers_sales_this_month_and_the_last_activity(
    db: Database,
) -> None:
    await _people(db)
    card = await reseller_search.card(db, 1002, now=now(), zone=UTC)
    assert card.owed == 1_000 and card.balance.balance == -1_000
    assert card.customers == 1 and card.sales_this_month == 1 and card.sold_this_month == 1_000
    assert card.last_activity is not None and now() - card.last_activity < dt.timedelta(minutes=1)
    next_month = reseller_search.month_start(now(), UTC) + dt.timedelta(days=40)
    later = await reseller_search.card(db, 1002, now=next_month, zone=UTC)
    assert later.sales_this_month == 0 and later.customers == 1
    quiet = await reseller_search.card(db, 1004, now=now(), zone=UTC)
    assert quiet.last_activity is None and quiet.customers == 0
    await resellers.set_status(
        db, telegram_id=1001, status=ResellerStatus.SUSPENDED, actor="t", now=now(), reason="Late"
    )
    assert (await reseller_search.card(db, 1001, now=now(), zone=UTC)).suspension_reason == "Late"


def test_a_month_begins_in_the_given_zone() -> None:
    moment = dt.datetime(2030, 3, 31, 22, tzinfo=dt.UTC)  # already April in Tehran
    start = reseller_search.month_start(moment, ZoneInfo("Asia/Tehran"))
    assert start == dt.datetime(2030, 3, 31, 20, 30, tzinfo=dt.UTC)


async def _edit(db: Database, field: Field, value: str | int, telegram_id: int = 1002) -> None:
    await reseller_search.edit(
        db, telegram_id=telegram_id, field=field, value=value, actor="tg:900", now=now()
    )


async def test_edits_are_checked_logged_with_before_and_after_and_told(db: Database) -> None:
    await _people(db)
    with pytest.raises(ActionError) as refused:
        await _edit(db, Field.BILLING, Billing.PREPAID)
    assert refused.value.code == "still_owes" and refused.value.params == {"owed": 1_000}
    with pytest.raises(ActionError) as refused:
        await _edit(db, Field.LIMIT, 999)
    assert refused.value.code == "limit_below_owed"
    with pytest.raises(ActionError) as refused:
        await _edit(db, Field.LIMIT, -1)
    assert refused.value.code == "negative"
    with pytest.raises(ActionError) as refused:
        await _edit(db, Field.LIMIT, 100, telegram_id=1001)
    assert refused.value.code == "prepaid_no_limit"
    with pytest.raises(ActionError) as refused:
        await _edit(db, Field.NAME, "x" * 101)
    assert refused.value.code == "bad_name"
    with pytest.raises(ActionError) as refused:
        await _edit(db, Field.THRESHOLD, 0)
    assert refused.value.code == "unchanged"

    await _edit(db, Field.LIMIT, 1_000)
    await _edit(db, Field.THRESHOLD, 2_550)
    await _edit(db, Field.NAME, "  Bob   the Builder ")
    await _edit(db, Field.BILLING, Billing.PREPAID, telegram_id=1004)  # owes nothing: allowed
    bob = (await reseller_search.card(db, 1002, now=now(), zone=UTC)).reseller
    assert (bob.credit_limit, bob.low_balance_threshold, bob.name) == (
        1_000,
        2_550,
        "Bob the Builder",
    )
    dave = (await reseller_search.card(db, 1004, now=now(), zone=UTC)).reseller
    assert dave.billing == Billing.PREPAID and dave.credit_limit == 0

    async with db.transaction() as session:
        logged = (
            await session.execute(
                select(AdminAction.action, AdminAction.details)
                .where(AdminAction.actor == "tg:900")
                .order_by(AdminAction.id)
            )
        ).all()
        told = list(
            await session.scalars(
                select(OutboxMessage.payload).where(OutboxMessage.kind == "reseller_changed")
            )
        )
    assert [a.action for a in logged] == [
        "reseller_limit",
        "reseller_thr",
        "reseller_name",
        "reseller_type",
    ]
    assert json.loads(logged[0].details) == {"before": {"limit": 20_000}, "after": {"limit": 1_000}}
    assert len(told) == 4
    assert {"field": "name", "value": "Bob the Builder"} in [json.loads(p) for p in told]
    await assert_audit_ok(db)


async def test_a_candidate_is_someone_who_has_started_the_bot(db: Database) -> None:
    assert await reseller_search.candidate(db, 4242) is None
    async with db.transaction() as session:
        session.add(ChatLanguage(chat_id=4242, language="en", updated_at=now()))
    assert await reseller_search.candidate(db, 4242) is not None
    await make_reseller(db, 1001, username="alice_s")
    found = await reseller_search.by_username(db, "@Alice_S")
    assert found is not None and found.telegram_id == 1001
    assert await reseller_search.by_username(db, "@nobody") is None
