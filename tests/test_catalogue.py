"""The catalogue's rules, shared by the chat and the CLI: a plan's fields, its place in
the resellers' lists, price tiers and payment methods edited and logged with the values
before and after; and migration 0012, which keeps the order resellers saw."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.db import Database, alembic_config, create_engine, upgrade_schema
from bot.money import AmountError, parse_amount
from bot.services import plans, pricing, sale_quotes
from bot.services.plans import PlanError
from bot.services.pricing import PricingError
from models import AdminAction
from tests.conftest import PG_URL, _pg_engine
from tests.helpers import now, setup_topups

ADMIN = "tg:900"


async def _log(db: Database) -> list[tuple[str, str, dict[str, object]]]:
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(AdminAction.actor, AdminAction.action, AdminAction.details).order_by(
                    AdminAction.id
                )
            )
        ).all()
    return [(r.actor, r.action, json.loads(r.details) if r.details else {}) for r in rows]


async def _three(db: Database) -> list[int]:
    ids = []
    for code, price in (("a", 300), ("b", 100), ("c", 200)):
        plan = await plans.add_plan(db, code=code, name=code.upper(), days=30, price=price)
        ids.append(plan.id)
    return ids


@pytest.mark.parametrize(("typed", "days"), [("30", 30), ("۳۶۵", 365), ("3650", 3650), (" 1 ", 1)])
def test_days_are_whole_numbers_from_1_to_3650_in_any_digits(typed: str, days: int) -> None:
    assert plans.parse_days(typed) == days


@pytest.mark.parametrize("typed", ["0", "3651", "-5", "1.5", "thirty", "", "30.001"])
def test_days_refuse_anything_else(typed: str) -> None:
    with pytest.raises(PlanError) as refused:
        plans.parse_days(typed)
    assert refused.value.code == "bad_days"


def test_names_and_codes_are_refused_with_a_code_and_the_length() -> None:
    with pytest.raises(PlanError) as long_name:
        plans.check_name("x" * 101)
    assert (long_name.value.code, long_name.value.params["length"]) == ("bad_name", 101)
    assert plans.check_name("  IPTV   1  month ") == "IPTV 1 month"
    with pytest.raises(PlanError, match="plan code"):
        plans.check_code("Bad Code")
    with pytest.raises(PricingError) as instructions:
        pricing.check_instructions("i" * 801)
    assert instructions.value.params["length"] == 801


async def test_new_plans_go_last_and_resellers_lists_follow_the_order(db: Database) -> None:
    a, b, c = await _three(db)
    assert [p.id for p in await plans.list_plans(db)] == [a, b, c]  # not by price
    await plans.move_plan(db, plan_id=c, up=True, actor=ADMIN, now=now())
    await plans.move_plan(db, plan_id=c, up=True, actor=ADMIN, now=now())
    await plans.move_plan(db, plan_id=c, up=True, actor=ADMIN, now=now())  # at the top: stays
    await plans.move_plan(db, plan_id=a, up=False, actor=ADMIN, now=now())
    assert [p.id for p in await plans.list_plans(db)] == [c, b, a]
    assert [p.id for p in await sale_quotes.active_plans(db)] == [c, b, a]
    moves = [(n, d) for _, n, d in await _log(db) if n == "plan_moved"]
    assert [d["after"] for _, d in moves] == [
        {"code": "c", "place": 2},
        {"code": "c", "place": 1},
        {"code": "a", "place": 3},
    ]
    with pytest.raises(PlanError) as gone:
        await plans.move_plan(db, plan_id=999, up=True, actor=ADMIN, now=now())
    assert gone.value.code == "no_plan"


async def test_an_edit_logs_only_what_changed_and_a_disabled_plan_is_not_offered(
    db: Database,
) -> None:
    a, b, _ = await _three(db)
    edited = await plans.edit_plan(
        db, plan_id=a, actor=ADMIN, now=now(), name="A plan", days=30, price=450
    )
    assert (edited.name, edited.days, edited.price) == ("A plan", 30, 450)
    await plans.edit_plan(db, plan_id=a, actor=ADMIN, now=now(), price=450)  # no change
    with pytest.raises(PlanError) as zero:
        await plans.edit_plan(db, plan_id=a, actor=ADMIN, now=now(), price=0)
    assert zero.value.code == "bad_price"
    await plans.set_plan_active(db, plan_id=b, active=False, actor=ADMIN, now=now())
    await plans.set_plan_active(db, plan_id=b, active=False, actor=ADMIN, now=now())
    assert b not in [p.id for p in await sale_quotes.active_plans(db)]
    logged = [(n, d) for _, n, d in await _log(db) if n != "plan_added"]
    assert logged == [
        (
            "plan_edited",
            {"before": {"code": "a", "name": "A", "price": 300},
             "after": {"code": "a", "name": "A plan", "price": 450}},
        ),
        (
            "plan_disabled",
            {"before": {"code": "b", "active": True}, "after": {"code": "b", "active": False}},
        ),
    ]  # fmt: skip


async def test_a_duplicate_code_is_refused_before_and_at_the_save(db: Database) -> None:
    await _three(db)
    with pytest.raises(PlanError) as taken:
        await plans.check_new_code(db, " A ")
    assert (taken.value.code, taken.value.params) == ("plan_exists", {"plan": "a"})
    with pytest.raises(PlanError) as again:
        await plans.add_plan(db, code="a", name="Again", days=1, price=1)
    assert again.value.code == "plan_exists"
    await setup_topups(db)
    with pytest.raises(PricingError) as method:
        await pricing.check_new_method_code(db, "bank")
    assert method.value.code == "method_exists"


async def test_tiers_are_edited_and_removed_and_quotes_follow(db: Database) -> None:
    await setup_topups(db)
    tiers = await pricing.list_tiers(db)
    base, bulk = tiers[0], tiers[1]
    with pytest.raises(PricingError) as taken:
        await pricing.edit_tier(db, tier_id=bulk.id, actor=ADMIN, now=now(), min_credits=0)
    assert taken.value.code == "tier_exists"
    with pytest.raises(PricingError) as free:
        await pricing.edit_tier(db, tier_id=bulk.id, actor=ADMIN, now=now(), unit_price=0)
    assert free.value.code == "bad_tier"
    assert await pricing.check_tier_start(db, 50_000, bulk.id) == 50_000  # its own start
    await pricing.edit_tier(db, tier_id=bulk.id, actor=ADMIN, now=now(), unit_price=85)
    async with db.transaction() as session:
        quote = await pricing.quote(session, 60_000)
    assert quote is not None and quote.unit_price == 85
    await pricing.delete_tier(db, tier_id=bulk.id, actor=ADMIN, now=now())
    async with db.transaction() as session:
        quote = await pricing.quote(session, 60_000)
    assert quote is not None and quote.unit_price == base.unit_price
    with pytest.raises(PricingError) as gone:
        await pricing.delete_tier(db, tier_id=bulk.id, actor=ADMIN, now=now())
    assert gone.value.code == "no_tier"
    names = [n for _, n, _ in await _log(db)]
    assert names.count("tier_edited") == 1 and names.count("tier_removed") == 1


async def test_a_method_edited_or_disabled_is_logged_and_offered_accordingly(db: Database) -> None:
    await setup_topups(db)
    bank = next(m for m in await pricing.list_methods(db) if m.code == "bank")
    await pricing.edit_method(
        db, method_id=bank.id, actor=ADMIN, now=now(), instructions="IBAN XX", min_total=1_000
    )
    assert [m.code for m in await pricing.offered_methods(db, 999)] == []
    await pricing.edit_method(db, method_id=bank.id, actor=ADMIN, now=now(), active=False)
    assert "bank" not in [m.code for m in await pricing.offered_methods(db, 100_000)]
    with pytest.raises(PricingError) as negative:
        await pricing.edit_method(db, method_id=bank.id, actor=ADMIN, now=now(), min_total=-1)
    assert negative.value.code == "negative_minimum"
    logged = [
        (n, d) for _, n, d in await _log(db) if n.startswith("method_") and n != "method_added"
    ]
    assert logged == [
        (
            "method_edited",
            {
                "before": {
                    "code": "bank",
                    "instructions": "IBAN DE00 1234 5678 <ref: id>",
                    "min_total": 0,
                },
                "after": {"code": "bank", "instructions": "IBAN XX", "min_total": 1_000},
            },
        ),
        (
            "method_disabled",
            {
                "before": {"code": "bank", "active": True},
                "after": {"code": "bank", "active": False},
            },
        ),
    ]


def test_an_amount_with_three_decimals_is_no_price() -> None:
    with pytest.raises(AmountError):
        parse_amount("10.505")


# --- migration 0012 -----------------------------------------------------------------------


@pytest.fixture
async def fresh_engine(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An empty database (no migrations run) of the chosen backend."""
    if backend == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
        yield engine
        await engine.dispose()
        return
    schema = f"mig_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = _pg_engine(schema)
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def test_migration_0012_keeps_the_order_resellers_saw_and_goes_back_down(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_schema(fresh_engine, "0011")
    async with fresh_engine.begin() as conn:
        for code, price in (("dear", 900), ("cheap", 100), ("mid", 500), ("mid2", 500)):
            await conn.execute(
                text(
                    "INSERT INTO plans (code, name, days, price, active,"
                    " reset_traffic_on_renewal, created_at)"
                    " VALUES (:c, :c, 30, :p, true, false, CURRENT_TIMESTAMP)"
                ),
                {"c": code, "p": price},
            )
    await upgrade_schema(fresh_engine)
    db = Database(fresh_engine)
    assert [p.code for p in await plans.list_plans(db)] == ["cheap", "mid", "mid2", "dear"]
    added = await plans.add_plan(db, code="new", name="New", days=1, price=50)
    assert added.position == 5

    def _down(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0011")

    async with fresh_engine.begin() as conn:
        await conn.run_sync(_down)
        columns = await conn.run_sync(
            lambda sync: [c["name"] for c in inspect(sync).get_columns("plans")]
        )
    assert "position" not in columns
