"""Benchmark: expiry reminders for 100,000 linked customers (a script, not a test).

    .venv/bin/python -m tests.bench_reminders [--customers 100000] [--send-seconds 20]
                                              [--database-url URL]

Fills a fresh database (SQLite in a temporary folder unless --database-url is given; on
PostgreSQL a schema of its own, dropped at the end)
with customers whose 3-day reminder is due, times the job that fills the outbox, then
lets the real sender drain it against the fake Bot API, which enforces a flood limit of
30 messages a second like Telegram, and prints the achieved rate and the 429s it got.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import secrets
import tempfile
import time
from pathlib import Path

from pydantic import SecretStr
from sqlalchemy import func, insert, select, text

import jobs
from bot.app import build_application
from bot.db import Database, create_engine, upgrade_schema
from bot.services import plans, resellers
from bot.settings import Settings
from jobs import notifier
from models import Customer, OutboxMessage, OutboxStatus
from tests.fake_bot_api import FakeBotAPI

TELEGRAM_LIMIT = 30  # messages a second overall


async def fill(db: Database, count: int, now: dt.datetime) -> None:
    reseller = await resellers.register_reseller(db, telegram_id=1, name="Bench")
    plan = await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=100)
    expires_at = now + dt.timedelta(days=3, hours=1)
    for start in range(0, count, 5_000):
        rows = [
            {
                "reseller_id": reseller.id,
                "username": f"user{i:07d}",
                "plan_id": plan.id,
                "expires_at": expires_at,
                "status": "active",
                "link_token": secrets.token_urlsafe(16),
                "chat_id": 10_000_000 + i,
                "created_at": now,
            }
            for i in range(start, min(count, start + 5_000))
        ]
        async with db.transaction() as session:
            await session.execute(insert(Customer), rows)
    if db.engine.dialect.name == "postgresql":
        # What autovacuum does soon after a bulk load: without statistics the planner
        # takes the new table for empty and sorts all of it for every batch of the job.
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE customers"))
            await conn.commit()


async def main(customers: int, send_seconds: float, database_url: str | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-"))
    url = database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    schema = await private_schema(url)
    db = Database.from_url(url, schema=schema)
    await upgrade_schema(db.engine)
    now = dt.datetime.now(dt.UTC)

    started = time.perf_counter()
    await fill(db, customers, now)
    print(f"database: {db.engine.dialect.name}; filled {customers} linked customers "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip

    fake = FakeBotAPI()
    await fake.start()
    fake.flood_limit = TELEGRAM_LIMIT
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(fake.token),
        telegram_api_base_url=fake.url,
        database_url=url,
        jobs_enabled=False,
    )
    started = time.perf_counter()
    queued = await jobs.run_reminders(db, settings, now)
    took = time.perf_counter() - started
    print(f"reminder job: queued {queued} messages in {took:.2f} s ({queued / took:,.0f}/s)")
    started = time.perf_counter()
    again = await jobs.run_reminders(db, settings, now)
    print(f"reminder job again: queued {again} in {time.perf_counter() - started:.2f} s")

    for chat_id in range(10_000_000, 10_000_000 + customers):
        fake.user(chat_id, "Customer")
    app = build_application(settings, db)
    await app.initialize()
    started = time.perf_counter()
    sent = await notifier.drain(
        app.bot, db, settings, now + dt.timedelta(seconds=1), budget_seconds=send_seconds,
        last_sent={}, catalogs=app.bot_data["i18n"],
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    async with db.transaction() as session:
        delivered = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT)
        )
    print(
        f"sender: {sent} sent in {elapsed:.1f} s = {sent / elapsed:.1f} msg/s "
        f"against a limit of {TELEGRAM_LIMIT}/s; 429s from the Bot API: {fake.flood_429s}; "
        f"marked sent: {delivered}"
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MiB")
    await app.shutdown()
    await fake.stop()
    await db.dispose()
    if schema is not None:
        await drop_schema(url, schema)


async def private_schema(url: str) -> str | None:
    """On PostgreSQL, a new empty schema for this run (None on SQLite)."""
    if not url.startswith("postgresql"):
        return None
    schema = f"bench_{secrets.token_hex(6)}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()
    return schema


async def drop_schema(url: str, schema: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--send-seconds", type=float, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.send_seconds, args.database_url))
