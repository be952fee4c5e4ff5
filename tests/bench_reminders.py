"""Benchmark: expiry reminders for 100,000 linked customers (a script, not a test).

    .venv/bin/python -m tests.bench_reminders [--customers 100000] [--send-seconds 20]
                                              [--database-url URL] [--free-only]

Fills a fresh database (SQLite in a temporary folder unless --database-url is given; on
PostgreSQL a schema of its own, dropped at the end)
with customers whose 3-day reminder is due, times the job that fills the outbox, then
lets the real sender drain it against the fake Bot API for --send-seconds at each rate:
first Telegram's free 30 messages a second, then (unless --free-only) the paid-broadcast
level, 1000 a second. The fake enforces the same flood limit as the sender's rate, like
Telegram, and each line gives the achieved rate, the 429s the fake answered, the
messages marked sent, and the benchmark process's CPU time per message (the fake Bot API
runs in the same process, so that includes the fake's side of every request).
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

PAID_LIMIT = 1000  # messages a second with paid broadcasts


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


async def main(
    customers: int, send_seconds: float, database_url: str | None, free_only: bool
) -> None:
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
    await send(db, fake, settings, now, send_seconds)
    if not free_only:
        paid = settings.model_copy(
            update={"telegram_messages_per_second": PAID_LIMIT, "telegram_paid_broadcast": True}
        )
        await send(db, fake, paid, now, send_seconds)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS): {peak:.0f} MiB")
    await fake.stop()
    await db.dispose()
    if schema is not None:
        await drop_schema(url, schema)


async def send(
    db: Database, fake: FakeBotAPI, settings: Settings, now: dt.datetime, seconds: float
) -> None:
    """The real sender, in a bot of its own built for this rate, for ``seconds``."""
    limit = round(settings.telegram_messages_per_second)
    fake.flood_limit = limit
    app = build_application(settings, db)
    await app.initialize()
    refused_before = fake.flood_429s
    sent_before = await marked_sent(db)
    cpu_before = time.process_time()
    started = time.perf_counter()
    sent = await notifier.drain(
        app.bot, db, settings, now + dt.timedelta(seconds=1), budget_seconds=seconds,
        last_sent={}, catalogs=app.bot_data["i18n"],
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_before
    await app.shutdown()
    print(
        f"sender at {limit}/s (window {notifier.window_size(settings)}): {sent} sent in "
        f"{elapsed:.1f} s = {sent / elapsed:.1f} msg/s against a limit of {limit}/s; "
        f"429s from the Bot API: {fake.flood_429s - refused_before}; "
        f"marked sent: {await marked_sent(db) - sent_before}; "
        f"CPU {cpu * 1000 / max(sent, 1):.2f} ms a message"
    )


async def marked_sent(db: Database) -> int:
    async with db.transaction() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT)
        )
    return found or 0


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
    parser.add_argument("--free-only", action="store_true", help="skip the paid rate")
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.send_seconds, args.database_url, args.free_only))
