"""Benchmark: peak memory of the bot process with 100,000 linked customers, jobs running.

    .venv/bin/python -m tests.bench_memory [--customers 100000] [--send-seconds 20]
                                           [--database-url URL]

Fills a fresh database (as tests/bench_reminders.py does: every customer's reminder is
due), starts `python -m bot` as an operator would, with the jobs on, against the fake
Bot API, waits until the reminder job has queued every reminder and the sender has been
sending for a while, and prints the bot process's resident memory at start-up and its
peak (the kernel's VmHWM), against the 120 MiB target.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

from bot.db import Database, upgrade_schema
from models import OutboxMessage, OutboxStatus
from tests.bench_reminders import drop_schema, fill, private_schema
from tests.fake_bot_api import FakeBotAPI

TARGET_MIB = 120


def memory_mib(pid: int) -> dict[str, float]:
    """VmRSS (now) and VmHWM (peak) of a process, in MiB."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0]) / 1024
    return found


async def outbox_counts(db: Database) -> tuple[int, int]:
    async with db.transaction() as session:
        total = await session.scalar(select(func.count()).select_from(OutboxMessage))
        sent = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENT)
        )
    return int(total or 0), int(sent or 0)


async def main(customers: int, send_seconds: float, database_url: str | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    url = database_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    schema = await private_schema(url)
    db = Database.from_url(url, schema=schema)
    await upgrade_schema(db.engine)
    await fill(db, customers, dt.datetime.now(dt.UTC))
    print(f"database: {db.engine.dialect.name}; {customers} linked customers, reminders due")

    fake = FakeBotAPI()
    await fake.start()
    fake.flood_limit = 30
    for chat_id in range(10_000_000, 10_000_000 + customers):
        fake.user(chat_id, "Customer")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ADMIN_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake.token,
        "TELEGRAM_API_BASE_URL": fake.url,
        "DATABASE_URL": url,
        "DATABASE_SCHEMA": schema or "",
        "JOBS_ENABLED": "true",
        "LOG_LEVEL": "WARNING",
    }
    log = folder / "bot.log"
    with log.open("wb") as sink:
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=folder,
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        started = time.monotonic()
        await asyncio.sleep(2)
        at_start = memory_mib(bot.pid)
        total, sent = 0, 0
        while total < customers and time.monotonic() - started < 300:
            await asyncio.sleep(1)
            total, sent = await outbox_counts(db)
        queued_at = time.monotonic()
        print(f"reminders queued by the running bot: {total} within {queued_at - started:.0f} s")
        await asyncio.sleep(send_seconds)
        total, sent = await outbox_counts(db)
        peak = memory_mib(bot.pid)
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.wait_for(bot.wait(), 60)
        await fake.stop()
        await db.dispose()
        if schema is not None:
            await drop_schema(url, schema)
    print(f"sent meanwhile: {sent}")
    # The target is read as MiB, the unit the other benchmarks (and the figure of 132.9
    # measured before) print; in millions of bytes the peak is 4.9% higher.
    verdict = "met" if peak["VmHWM"] <= TARGET_MIB else "missed"
    print(
        f"bot process RSS: {at_start['VmRSS']:.1f} MiB two seconds after start; peak "
        f"{peak['VmHWM']:.1f} MiB ({peak['VmHWM'] * 1.048576:.1f} million bytes); "
        f"target {TARGET_MIB} MiB: {verdict}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--send-seconds", type=float, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.send_seconds, args.database_url))
