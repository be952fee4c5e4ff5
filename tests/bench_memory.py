"""Benchmark: peak memory of the bot process with 100,000 linked customers, jobs running.

    .venv/bin/python -m tests.bench_memory [--customers 100000] [--send-seconds 20]
                                           [--database-url URL]

Fills a fresh database (as tests/bench_reminders.py does: every customer's reminder is
due), starts `python -m bot` as an operator would, with the jobs on, against the fake
Bot API, waits until the reminder job has queued every reminder and the sender has been
sending for a while, and prints the bot process's resident memory when it began polling
and its peak (the kernel's VmHWM), in MiB and in MB, against the target of 120 MB.
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

# Issue 17's "120 MB", read as the smaller of its two meanings: 120 million bytes (114.4 MiB).
TARGET_BYTES = 120_000_000


def memory_bytes(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in bytes."""
    found: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmRSS", "VmHWM"}:
            found[name] = int(value.split()[0]) * 1024  # the kernel's "kB" are KiB
    return found


def both_units(size: int) -> str:
    return f"{size / 2**20:.1f} MiB ({size / 10**6:.1f} MB)"


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
        while not any(method == "getUpdates" for method, _ in fake.requests):
            if bot.returncode is not None or time.monotonic() - started > 120:
                raise RuntimeError(f"the bot did not start polling; see {log}")
            await asyncio.sleep(0.05)
        at_start = memory_bytes(bot.pid)  # started: the jobs' first runs come after
        total, sent = 0, 0
        while total < customers and time.monotonic() - started < 300:
            await asyncio.sleep(1)
            total, sent = await outbox_counts(db)
        queued_at = time.monotonic()
        print(f"reminders queued by the running bot: {total} within {queued_at - started:.0f} s")
        await asyncio.sleep(send_seconds)
        total, sent = await outbox_counts(db)
        peak = memory_bytes(bot.pid)
    finally:
        bot.send_signal(signal.SIGINT)
        await asyncio.wait_for(bot.wait(), 60)
        await fake.stop()
        await db.dispose()
        if schema is not None:
            await drop_schema(url, schema)
    print(f"sent meanwhile: {sent}")
    verdict = "met" if peak["VmHWM"] <= TARGET_BYTES else "missed"
    print(
        f"bot process RSS: {both_units(at_start['VmRSS'])} when it began polling; "
        f"peak {both_units(peak['VmHWM'])}; target 120 MB ({TARGET_BYTES:,} bytes): {verdict}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--send-seconds", type=float, default=20)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.send_seconds, args.database_url))
