"""Migration 0005 brings a database written before every credit had a grant to the
ledger's rule, on both databases: the audit passes afterwards. The migrations build the
tables the models describe; 0016, 0018 and 0021 keep the rows of a populated database
(0021 also going back down)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.db import Database, alembic_config, create_engine, upgrade_schema
from bot.services import ledger_audit, ledger_holds, ledger_postings
from models import EntryKind
from tests.conftest import PG_URL, _pg_engine


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


async def _id(conn: AsyncConnection, sql: str, **params: object) -> int:
    return int((await conn.execute(text(sql), params)).scalar_one())


async def _reseller(conn: AsyncConnection, telegram_id: int, balance: int, held: int) -> int:
    now = _now(conn)
    reseller = await _id(
        conn,
        "INSERT INTO resellers (telegram_id, name, billing, low_balance_threshold, status,"
        " created_at) VALUES (:t, 'R', 'prepaid', 0, 'active', :now) RETURNING id",
        t=telegram_id,
        now=now,
    )
    return await _id(
        conn,
        "INSERT INTO ledger_accounts (kind, reseller_id, balance, held, credit_limit, created_at)"
        " VALUES ('reseller', :r, :b, :h, 0, :now) RETURNING id",
        r=reseller,
        b=balance,
        h=held,
        now=now,
    )


def _now(conn: AsyncConnection) -> dt.datetime:
    now = dt.datetime.now(dt.UTC)
    return now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now


async def _transfer(conn: AsyncConnection, src: int, dst: int, amount: int, kind: str) -> int:
    return await _id(
        conn,
        "INSERT INTO ledger_transfers (from_account_id, to_account_id, amount, kind, tx_type,"
        " actor, idempotency_key, created_at)"
        " VALUES (:s, :d, :a, :k, 'purchase', 'test', :key, :now) RETURNING id",
        s=src,
        d=dst,
        a=amount,
        k=kind,
        key=uuid.uuid4().hex,
        now=_now(conn),
    )


async def test_migration_0005_settles_grants_and_holds_of_an_existing_database(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_schema(fresh_engine, "0004")
    async with fresh_engine.begin() as conn:
        system = {
            code: await _id(conn, "SELECT id FROM ledger_accounts WHERE code = :c", c=code)
            for code in ("issuance", "cash", "sales")
        }
        # Alice: a 10.00 expiring top-up and 5.00 of cash (no grant), 5.00 held by a sale.
        alice = await _reseller(conn, 1001, balance=1_500, held=500)
        topup = await _transfer(conn, system["issuance"], alice, 1_000, "topup")
        await _transfer(conn, system["cash"], alice, 500, "cash_received")
        later = _now(conn) + dt.timedelta(days=30)
        await conn.execute(
            text(
                "INSERT INTO credit_grants (account_id, transfer_id, amount, remaining,"
                " expires_at, created_at) VALUES (:a, :t, 1000, 1000, :e, :now)"
            ),
            {"a": alice, "t": topup, "e": later, "now": _now(conn)},
        )
        await conn.execute(
            text(
                "INSERT INTO ledger_holds (account_id, to_account_id, amount, status, kind,"
                " tx_type, actor, idempotency_key, created_at)"
                " VALUES (:a, :s, 500, 'pending', 'activation', 'purchase', 'test', 'h1', :now)"
            ),
            {"a": alice, "s": system["sales"], "now": _now(conn)},
        )
        # Bob: spent everything, but the old code left 3.00 on an open grant.
        bob = await _reseller(conn, 1002, balance=0, held=0)
        gift = await _transfer(conn, system["issuance"], bob, 300, "topup")
        await _transfer(conn, bob, system["sales"], 300, "activation")
        await conn.execute(
            text(
                "INSERT INTO credit_grants (account_id, transfer_id, amount, remaining,"
                " created_at) VALUES (:a, :t, 300, 300, :now)"
            ),
            {"a": bob, "t": gift, "now": _now(conn)},
        )
        await conn.execute(
            text("UPDATE ledger_accounts SET balance = balance - 1300 WHERE id = :i"),
            {"i": system["issuance"]},
        )
        await conn.execute(
            text("UPDATE ledger_accounts SET balance = balance - 500 WHERE id = :i"),
            {"i": system["cash"]},
        )
        await conn.execute(
            text("UPDATE ledger_accounts SET balance = balance + 300 WHERE id = :i"),
            {"i": system["sales"]},
        )

    await upgrade_schema(fresh_engine)

    db = Database(fresh_engine)
    async with db.transaction() as session:
        report = await ledger_audit.audit(session)
        assert report.problems == []
        grants = (
            await session.execute(
                text(
                    "SELECT account_id, amount, remaining, transfer_id IS NULL AS opening"
                    " FROM credit_grants ORDER BY id"
                )
            )
        ).all()
        reserved = (
            await session.execute(text("SELECT grant_id, amount FROM ledger_hold_allocations"))
        ).all()
    assert [tuple(g) for g in grants] == [
        (alice, 1_000, 500, False),  # 5.00 of it reserved by the sale
        (bob, 300, 0, False),  # trimmed: Bob has nothing left
        (alice, 500, 500, True),  # the cash, which had no grant
    ]
    assert [r.amount for r in reserved] == [500]


async def test_the_migrations_build_exactly_the_tables_the_models_describe(
    fresh_engine: AsyncEngine,
) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from models import Base

    await upgrade_schema(fresh_engine)
    async with fresh_engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), Base.metadata
            )
        )
    assert diff == []


async def test_migration_0018_moves_the_backups_sent_into_job_runs(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_schema(fresh_engine, "0014")
    sent = dt.datetime(2031, 3, 1, 12, tzinfo=dt.UTC)
    at = sent.replace(tzinfo=None) if fresh_engine.dialect.name == "sqlite" else sent
    payload = '{"file": "auto-1.enc", "size": 10, "message_id": 7}'
    async with fresh_engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO outbox (key, chat_id, kind, payload, status, attempts,"
                " next_attempt_at, created_at, sent_at) VALUES ('backup:-5:auto-1.enc', -5,"
                " 'backup_sent', :p, 'sent', 1, :at, :at, :at)"
            ),
            {"p": payload, "at": at},
        )
    await upgrade_schema(fresh_engine)
    async with fresh_engine.begin() as conn:
        runs = (await conn.execute(text("SELECT job, period, detail FROM job_runs"))).all()
        left = (await conn.execute(text("SELECT count(*) FROM outbox"))).scalar_one()
    assert [tuple(row) for row in runs] == [("backup:-5", "backup:-5:auto-1.enc", payload)]
    assert left == 0


async def test_migration_0016_keeps_every_customer_and_the_orders_that_refer_to_them(
    fresh_engine: AsyncEngine,
) -> None:
    # On SQLite 0016 copies the customers table to drop a unique constraint, which the
    # orders referring to it would forbid: upgrade_schema switches foreign keys off and
    # checks them after.
    await upgrade_schema(fresh_engine, "0014")
    async with fresh_engine.begin() as conn:
        day = _now(conn)
        source = await _reseller(conn, 1001, 10_000, 0)
        reseller = await _id(
            conn, "SELECT reseller_id FROM ledger_accounts WHERE id = :a", a=source
        )
        target = await _id(conn, "SELECT min(id) FROM ledger_accounts WHERE reseller_id IS NULL")
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
        hold = await _id(
            conn,
            "INSERT INTO ledger_holds (account_id, to_account_id, amount, status, kind,"
            " tx_type, actor, idempotency_key, created_at) VALUES (:a, :b, 100, 'voided',"
            " 'activation', 'purchase', 'test', 'h1', :d) RETURNING id",
            a=source, b=target, d=day,
        )  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO subscription_orders (idempotency_key, kind, status, reseller_id,"
                " customer_id, username, plan_id, days, price, hold_id, created_at) VALUES"
                " ('o1', 'activation', 'failed', :r, :c, 'john', :p, 30, 100, :h, :d)"
            ),
            {"r": reseller, "c": customer, "p": plan, "h": hold, "d": day},
        )
    await upgrade_schema(fresh_engine)
    async with fresh_engine.begin() as conn:
        day = _now(conn)
        rows = (await conn.execute(text("SELECT id, chat_id FROM customers"))).all()
        orders = (await conn.execute(text("SELECT customer_id FROM subscription_orders"))).all()
        # Several subscriptions may now share a chat.
        await conn.execute(
            text(
                "INSERT INTO customers (reseller_id, username, plan_id, expires_at, status,"
                " chat_id, created_at) VALUES (:r, 'jane', :p, :d, 'active', 555, :d)"
            ),
            {"r": reseller, "p": plan, "d": day},
        )
        if fresh_engine.dialect.name == "sqlite":
            assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
    assert [tuple(r) for r in rows] == [(customer, 555)]
    assert [r.customer_id for r in orders] == [customer]


async def test_migration_0020_lets_announcing_staff_keep_it_and_spreads_a_chats_choices(
    fresh_engine: AsyncEngine,
) -> None:
    from alembic import command

    from bot.db import alembic_config

    await upgrade_schema(fresh_engine, "0018")
    async with fresh_engine.begin() as conn:
        day = _now(conn)
        for telegram_id, permissions in ((1, "resellers"), (2, "reports"),
                                         (3, "credits,resellers,topups")):  # fmt: skip
            await conn.execute(
                text(
                    "INSERT INTO staff_admins (telegram_id, name, permissions, added_by,"
                    " created_at) VALUES (:t, 'S', :p, 'test', :d)"
                ),
                {"t": telegram_id, "p": permissions, "d": day},
            )
        account = await _reseller(conn, 1001, 0, 0)
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
        # A family chat (555) whose first subscription chose; one linked later kept the
        # defaults; a single chat (777) and an unlinked subscription are left as they are.
        for username, chat, opted_out, reminders in (
            ("mum", 555, True, "last"), ("son", 555, False, "all"),
            ("solo", 777, False, "last"), ("loose", None, True, "all"),
        ):  # fmt: skip
            await conn.execute(
                text(
                    "INSERT INTO customers (reseller_id, username, plan_id, expires_at, status,"
                    " chat_id, promotions_opt_out, reminders, created_at) VALUES (:r, :u, :p,"
                    " :d, 'active', :c, :o, :m, :d)"
                ),
                {"r": reseller, "u": username, "p": plan, "d": day, "c": chat, "o": opted_out,
                 "m": reminders},
            )  # fmt: skip

    async def state() -> tuple[dict[int, str], dict[str, tuple[bool, str]]]:
        async with fresh_engine.begin() as conn:
            staff: dict[int, str] = dict(
                (
                    await conn.execute(text("SELECT telegram_id, permissions FROM staff_admins"))
                ).all()
            )
            rows = await conn.execute(
                text("SELECT username, promotions_opt_out, reminders FROM customers")
            )
            return staff, {u: (bool(o), m) for u, o, m in rows}

    await upgrade_schema(fresh_engine, "0020")
    staff, choices = await state()
    assert staff == {1: "announcements,resellers", 2: "reports",
                     3: "announcements,credits,resellers,topups"}  # fmt: skip
    assert choices == {"mum": (True, "last"), "son": (True, "last"), "solo": (False, "last"),
                       "loose": (True, "all")}  # fmt: skip

    def downgrade(connection: object) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")

    async with fresh_engine.begin() as conn:
        await conn.run_sync(downgrade)
    staff, after = await state()
    assert staff == {1: "resellers", 2: "reports", 3: "credits,resellers,topups"}
    assert after == choices


async def _downgrade(engine: AsyncEngine, revision: str) -> None:
    """Down to ``revision``, as upgrade_schema goes up: on SQLite with foreign keys off
    (a changed constraint copies the table), checked before it commits."""
    from alembic import command

    def _down(sync: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = sync
        command.downgrade(config, revision)
        if sync.dialect.name == "sqlite":
            assert sync.exec_driver_sql("PRAGMA foreign_key_check").all() == []

    def _foreign_keys(sync: Connection, on: bool) -> None:
        # Outside a transaction, where SQLite lets it switch (as upgrade_schema does).
        if sync.dialect.name == "sqlite":
            cursor = sync.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
            cursor.close()

    async with engine.connect() as conn:
        await conn.run_sync(_foreign_keys, False)
        try:
            async with conn.begin():
                await conn.run_sync(_down)
        finally:
            await conn.run_sync(_foreign_keys, True)


async def _grants(db: Database) -> list[tuple[int, int, int, int, bool]]:
    async with db.transaction() as session:
        rows = await session.execute(
            text(
                "SELECT account_id, transfer_id, amount, remaining, expires_at IS NULL"
                " FROM credit_grants ORDER BY id"
            )
        )
        return [(a, t, n, r, bool(never)) for a, t, n, r, never in rows]


async def test_migration_0021_lets_a_transfer_give_one_grant_per_expiry_and_goes_back_down(
    fresh_engine: AsyncEngine,
) -> None:
    await upgrade_schema(fresh_engine, "0020")
    async with fresh_engine.begin() as conn:
        code = "SELECT id FROM ledger_accounts WHERE code = :c"
        issuance = await _id(conn, code, c="issuance")
        sales = await _id(conn, code, c="sales")
        # Alice: 10.00 expiring and 5.00 that never expire, 2.00 of it held by a sale;
        # she sent Bob 3.00, which the code of the time gave him as a grant of its own.
        alice = await _reseller(conn, 1001, balance=1_200, held=200)
        bob = await _reseller(conn, 1002, balance=300, held=0)
        later = _now(conn) + dt.timedelta(days=30)
        grants = []
        for amount, remaining, expires_at, dst in (
            (1_000, 500, later, alice),
            (500, 500, None, alice),
            (300, 300, None, bob),
        ):
            src = alice if dst == bob else issuance
            movement = await _transfer(conn, src, dst, amount, "transfer")
            grant = await _id(
                conn,
                "INSERT INTO credit_grants (account_id, transfer_id, amount, remaining,"
                " expires_at, created_at) VALUES (:a, :t, :n, :r, :e, :now) RETURNING id",
                a=dst, t=movement, n=amount, r=remaining, e=expires_at, now=_now(conn),
            )  # fmt: skip
            grants.append(grant)
        hold = await _id(
            conn,
            "INSERT INTO ledger_holds (account_id, to_account_id, amount, status, kind,"
            " tx_type, actor, idempotency_key, created_at)"
            " VALUES (:a, :s, 200, 'pending', 'activation', 'purchase', 'test', 'h1', :now)"
            " RETURNING id",
            a=alice, s=sales, now=_now(conn),
        )  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO ledger_hold_allocations (hold_id, grant_id, amount)"
                " VALUES (:h, :g, 200)"
            ),
            {"h": hold, "g": grants[0]},
        )  # fmt: skip
        await conn.execute(
            text("UPDATE ledger_accounts SET balance = -1500 WHERE id = :i"), {"i": issuance}
        )
    before = await _grants(Database(fresh_engine))

    await upgrade_schema(fresh_engine)
    db = Database(fresh_engine)
    assert await _grants(db) == before
    async with db.transaction() as session:
        # Alice's 10.00 free above the sale: all 5.00 expiring, 2.00 that never expire.
        moved = await ledger_postings.transfer_between(
            session, from_account_id=alice, to_account_id=bob, amount=700, actor="t", key="x"
        )
        # Bob's sale reserves the 5.00 expiring, his first 3.00 and 1.00 of the new 2.00.
        await ledger_holds.place_hold(
            session, account_id=bob, amount=900, kind=EntryKind.ACTIVATION, actor="t", key="h2"
        )
    split = [g for g in await _grants(db) if g[1] == moved.transfer_id]
    assert [(n, r, never) for _, _, n, r, never in split] == [(500, 0, False), (200, 100, True)]
    async with db.transaction() as session:
        assert (await ledger_audit.audit(session)).problems == []

    await _downgrade(fresh_engine, "0020")
    merged = [g for g in await _grants(db) if g[1] == moved.transfer_id]
    # One grant again, as the code before 0021 expects; it never expires, as one part did not.
    assert [(n, r, never) for _, _, n, r, never in merged] == [(700, 100, True)]
    async with db.transaction() as session:
        assert (await ledger_audit.audit(session)).problems == []
    with pytest.raises(IntegrityError):
        async with fresh_engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO credit_grants (account_id, transfer_id, amount, remaining,"
                    " created_at) VALUES (:a, :t, 1, 1, :now)"
                ),
                {"a": bob, "t": moved.transfer_id, "now": _now(conn)},
            )
    await upgrade_schema(fresh_engine)
    assert len(await _grants(db)) == len(before) + 1


async def test_migrations_0022_and_0023_date_refunds_under_way_and_go_back_down(
    fresh_engine: AsyncEngine,
) -> None:
    """A refund pending before 0022 is dated from its payment (the recovery job looks back
    from it); other payments are left undated. Down again, the columns go and the table
    keeps its rules (SQLite copies it)."""
    await upgrade_schema(fresh_engine, "0021")
    async with fresh_engine.begin() as conn:
        now = _now(conn)
        reseller = await _id(
            conn,
            "INSERT INTO resellers (telegram_id, name, billing, low_balance_threshold, status,"
            " created_at) VALUES (1001, 'R', 'prepaid', 0, 'active', :now) RETURNING id",
            now=now,
        )
        method = await _id(
            conn,
            "INSERT INTO payment_methods (code, name, instructions, min_total, active, kind,"
            " created_at) VALUES ('stars', 'Stars', '', 0, true, 'stars', :now) RETURNING id",
            now=now,
        )
        paid_at = now - dt.timedelta(days=2)
        for n, state in enumerate(("refund_pending", "paid")):
            await conn.execute(
                text(
                    "INSERT INTO star_payments (purpose, reseller_id, method_id, stars, credits,"
                    " rate, payload, state, payer_telegram_id, refund_shortfall,"
                    " refund_attempts, created_at, paid_at) VALUES ('topup', :r, :m, 10, 2000,"
                    " 200, :p, :s, 1001, 0, 1, :now, :paid)"
                ),
                {"r": reseller, "m": method, "p": f"p{n}", "s": state, "now": now, "paid": paid_at},
            )  # fmt: skip

    await upgrade_schema(fresh_engine)
    async with fresh_engine.begin() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT state, refund_begun_at, refund_claimed_until, refund_retry_at"
                    " FROM star_payments ORDER BY id"
                )
            )
        ).all()
    pending, paid = rows
    assert pending[1] is not None and str(pending[1])[:19] == str(paid_at)[:19]
    assert pending[2:] == (None, None) and paid[1:] == (None, None, None)

    await _downgrade(fresh_engine, "0021")
    async with fresh_engine.begin() as conn:
        columns = await conn.run_sync(
            lambda sync: [c["name"] for c in sa_inspect(sync).get_columns("star_payments")]
        )
    assert not {"refund_begun_at", "refund_claimed_until", "refund_retry_at"} & set(columns)
    with pytest.raises(IntegrityError):  # the state's rule kept
        async with fresh_engine.begin() as conn:
            await conn.execute(text("UPDATE star_payments SET state = 'lost'"))
    await upgrade_schema(fresh_engine)
