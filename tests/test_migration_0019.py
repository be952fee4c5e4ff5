"""Migration 0019 on a populated database, both ways, on both databases: the Stars
payments kept (SQLite copies the table to widen its purpose check), a paid change of
package then allowed, the decline note added; down again, the paid changes go and the
rest stays."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.db import alembic_config, upgrade_schema
from tests.test_migrations import _id, _now, _reseller, fresh_engine  # noqa: F401

PAYMENT = (
    "INSERT INTO star_payments (purpose, reseller_id, method_id, customer_id, plan_id, stars,"
    " credits, rate, payload, state, payer_telegram_id, refund_shortfall, refund_attempts,"
    " created_at) VALUES (:purpose, :r, :m, :c, :p, 10, 2000, 200, :payload, 'paid', 555,"
    " 0, 0, :d)"
)


async def _payment(conn: AsyncConnection, purpose: str, ids: dict[str, int]) -> None:
    await conn.execute(
        text(PAYMENT),
        {"purpose": purpose, "payload": f"p-{purpose}", "d": _now(conn), **ids},
    )


async def _purposes(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(text("SELECT purpose FROM star_payments ORDER BY id"))
    return [row[0] for row in rows]


async def test_migration_0019_keeps_the_payments_and_goes_back_down(
    fresh_engine: AsyncEngine,  # noqa: F811
) -> None:
    await upgrade_schema(fresh_engine, "0018")
    async with fresh_engine.begin() as conn:
        day = _now(conn)
        account = await _reseller(conn, 1001, 10_000, 0)
        reseller = await _id(
            conn, "SELECT reseller_id FROM ledger_accounts WHERE id = :a", a=account
        )
        plan = await _id(
            conn,
            "INSERT INTO plans (code, name, days, price, active, created_at,"
            " reset_traffic_on_renewal, position) VALUES ('m1', 'IPTV', 30, 100, true, :d,"
            " false, 1) RETURNING id",
            d=day,
        )
        customer = await _id(
            conn,
            "INSERT INTO customers (reseller_id, username, plan_id, expires_at, status,"
            " chat_id, created_at) VALUES (:r, 'john', :p, :d, 'active', 555, :d) RETURNING id",
            r=reseller, p=plan, d=day,
        )  # fmt: skip
        method = await _id(
            conn,
            "INSERT INTO payment_methods (code, name, instructions, min_total, active, kind,"
            " stars_rate, created_at) VALUES ('stars', 'Stars', '', 0, true, 'stars', 200, :d)"
            " RETURNING id",
            d=day,
        )
        ids = {"r": reseller, "m": method, "c": customer, "p": plan}
        await _payment(conn, "topup", ids)
        await _payment(conn, "renewal", ids)
        await conn.execute(
            text(
                "INSERT INTO plan_change_requests (customer_id, from_plan_id, plan_id, status,"
                " reason, created_at) VALUES (:c, :p, :p, 'declined', 'later', :d)"
            ),
            {"c": customer, "p": plan, "d": day},
        )
    with pytest.raises(IntegrityError):  # not yet a purpose before 0019
        async with fresh_engine.begin() as conn:
            await _payment(conn, "plan_change", ids)

    await upgrade_schema(fresh_engine, "0019")
    async with fresh_engine.begin() as conn:
        assert await _purposes(conn) == ["topup", "renewal"]
        await _payment(conn, "plan_change", ids)
        await conn.execute(text("UPDATE plan_change_requests SET note = 'call me'"))
        assert await _purposes(conn) == ["topup", "renewal", "plan_change"]
    with pytest.raises(IntegrityError):
        async with fresh_engine.begin() as conn:
            await conn.execute(text(PAYMENT.replace("p-", "q-")), {
                "purpose": "gift", "payload": "x", "d": _now(conn), **ids,
            })  # fmt: skip

    def _down(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0018")

    async with fresh_engine.begin() as conn:
        await conn.run_sync(_down)
        columns = await conn.run_sync(
            lambda sync: [c["name"] for c in inspect(sync).get_columns("plan_change_requests")]
        )
        assert "note" not in columns
        assert await _purposes(conn) == ["topup", "renewal"]
        reason = (await conn.execute(text("SELECT reason FROM plan_change_requests"))).scalar()
        assert reason == "later"
