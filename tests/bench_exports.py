"""Benchmark: a 100,000-row credit history exported to CSV and to XLSX.

    .venv/bin/python -m tests.bench_exports [--rows 100000] [--database-url URL]

A script, not a test. It fills a database with one reseller and ``--rows`` ledger
movements (written directly, a few thousand per statement), then exports that reseller's
history as an admin would, once as CSV and once as XLSX, each in a fresh process of its
own so that its peak memory is its own: the service reads a batch of 1,000 rows per
transaction, the views turn them into cells, the writer streams them to the file. Prints,
per format, the time, the rows and the file's size, and the process's memory before the
export and at its peak (RSS). SQLite lives in a temporary folder; for PostgreSQL,
--database-url names a server, where a temporary database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot import i18n
from bot.adapters import exports as files
from bot.adapters.exports import Format, Row
from bot.db import Database, upgrade_schema
from bot.services import exports, resellers
from bot.services.exports import Kind
from models import EntryKind, LedgerAccount, SystemAccount, Transfer, TxType
from tests.bench_activations import create_database, drop_database

RESELLER = 1001
CHUNK = 5_000


def _memory_mib() -> tuple[float, float]:
    """(resident now, peak resident) of this process, in MiB."""
    now = peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status") as status:  # Linux: the current figure too
        for line in status:
            if line.startswith("VmRSS:"):
                now = int(line.split()[1]) / 1024
    return now, peak


async def fill(url: str, rows: int) -> None:
    db = Database.from_url(url)
    await upgrade_schema(db.engine)
    try:
        reseller = await resellers.register_reseller(db, telegram_id=RESELLER, name="Bench")
        async with db.transaction() as session:
            issuance = await session.scalar(
                select(LedgerAccount.id).where(LedgerAccount.code == SystemAccount.ISSUANCE)
            )
        assert issuance is not None
        start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
        for first in range(0, rows, CHUNK):
            batch = [
                {
                    "from_account_id": issuance if n % 2 else reseller.account_id,
                    "to_account_id": reseller.account_id if n % 2 else issuance,
                    "amount": 100 + n % 9_900,
                    "kind": EntryKind.ADJUSTMENT,
                    "tx_type": TxType.PURCHASE,
                    "comment": f"=movement {n}" if n % 10 == 0 else f"movement {n}",
                    "actor": "bench",
                    "idempotency_key": f"bench:{n}",
                    "created_at": start + dt.timedelta(seconds=n),
                }
                for n in range(first, min(first + CHUNK, rows))
            ]
            async with db.transaction() as session:
                await session.execute(insert(Transfer), batch)
    finally:
        await db.dispose()


async def export(url: str, fmt: Format, output: Path) -> tuple[int, float, float]:
    """One export, in this process: (rows, seconds, resident memory before it in MiB)."""
    db = Database.from_url(url)
    before, _ = _memory_mib()
    began = time.perf_counter()
    try:
        t, zone = i18n.SOURCE, ZoneInfo("Asia/Tehran")
        where = await exports.scope(db, Kind.HISTORY, asker=None, owner_ids=(), reseller=RESELLER)
        from handlers.exports import views

        async def batches() -> AsyncIterator[Sequence[Row]]:
            async for found in exports.rows(db, Kind.HISTORY, where, None, zone):
                yield [views.cells(row, t) for row in found]

        header = views.header(Kind.HISTORY, t)
        count = await files.write(output, fmt, header, batches(), zone)
    finally:
        await db.dispose()
    return count, time.perf_counter() - began, before


def child(url: str, fmt: Format, output: Path) -> None:
    count, seconds, before = asyncio.run(export(url, fmt, output))
    size = output.stat().st_size / 2**20
    print(
        f"{fmt.value}: {count} rows in {seconds:.1f} s ({count / seconds:,.0f} rows/s), "
        f"file {size:.1f} MiB; memory (RSS) {before:.0f} MiB before the export, "
        f"peak {_memory_mib()[1]:.0f} MiB"
    )


async def main(args: argparse.Namespace) -> None:
    url, created = await create_database(args.database_url)
    try:
        began = time.perf_counter()
        await fill(url, args.rows)
        backend = "postgresql" if created else "sqlite"
        took = time.perf_counter() - began
        print(f"database: {backend}; filled {args.rows} ledger movements in {took:.1f} s")
        folder = Path(tempfile.mkdtemp(prefix="bench-exports-"))
        for fmt in Format:
            output = folder / f"history.{fmt.value}"
            # A fresh process per format: each peak is that export's alone.
            command = [sys.executable, "-m", "tests.bench_exports", "--child", fmt.value]
            command += ["--url", url, "--output", str(output)]
            await asyncio.to_thread(subprocess.run, command, check=True)
    finally:
        await drop_database(args.database_url, created)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="PostgreSQL server (a temporary database)")
    parser.add_argument("--child", choices=[f.value for f in Format], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, help=argparse.SUPPRESS)
    parsed = parser.parse_args()
    if parsed.child:
        child(parsed.url, Format(parsed.child), parsed.output)
    else:
        asyncio.run(main(parsed))
