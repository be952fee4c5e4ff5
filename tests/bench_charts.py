"""Benchmark: the charts over a year of 100,000 ledger movements, read and drawn.

    .venv/bin/python -m tests.bench_charts [--rows 100000] [--step d|w|m] [--database-url URL]

A script, not a test. It fills a database with one postpaid reseller and ``--rows``
movements spread over the last 365 days (credit granted and credit spent on activations,
in turn, written directly), then, as an admin asking for the last 12 months per month
(or per ``--step``), reads each ledger chart's series and draws it (100 dpi, 8 by 4.5
inches), and prints the time of each and the process's peak memory (RSS). SQLite lives
in a temporary folder; for PostgreSQL, --database-url names a server, where a temporary
database is created and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import resource
import time
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from bot import i18n
from bot.adapters import charts
from bot.db import Database, upgrade_schema
from bot.services import charts_data, resellers
from bot.services.charts_data import Chart, Step, Window
from handlers.charts import picture_views
from handlers.reader import Reader
from models import Billing, EntryKind, LedgerAccount, SystemAccount, Transfer, TxType
from tests.bench_activations import create_database, drop_database

RESELLER = 1001
CHUNK = 5_000
NOW = dt.datetime(2026, 11, 15, 12, tzinfo=dt.UTC)


async def fill(db: Database, rows: int) -> None:
    await upgrade_schema(db.engine)
    seller = await resellers.register_reseller(
        db, telegram_id=RESELLER, name="Bench", billing=Billing.POSTPAID, credit_limit=10**9
    )
    async with db.transaction() as session:
        codes = dict((await session.execute(select(LedgerAccount.code, LedgerAccount.id))).all())
    issuance, sales = codes[SystemAccount.ISSUANCE], codes[SystemAccount.SALES]
    start, spread = NOW - dt.timedelta(days=365), dt.timedelta(days=365) / rows
    for first in range(0, rows, CHUNK):
        batch = [
            {
                "from_account_id": issuance if n % 2 else seller.account_id,
                "to_account_id": seller.account_id if n % 2 else sales,
                "amount": 100 + n % 9_900,
                "kind": EntryKind.ADJUSTMENT if n % 2 else EntryKind.ACTIVATION,
                "tx_type": TxType.PURCHASE,
                "actor": "bench",
                "idempotency_key": f"bench:{n}",
                "created_at": start + spread * n,
            }
            for n in range(first, min(first + CHUNK, rows))
        ]
        async with db.transaction() as session:
            await session.execute(insert(Transfer), batch)


async def main(args: argparse.Namespace) -> None:
    url, created = await create_database(args.database_url)
    db = Database.from_url(url)
    try:
        began = time.perf_counter()
        await fill(db, args.rows)
        backend = "postgresql" if created else "sqlite"
        took = time.perf_counter() - began
        print(f"database: {backend}; filled {args.rows} ledger movements in {took:.1f} s")
        r, zone = Reader(i18n.SOURCE, "credits", ZoneInfo("UTC")), ZoneInfo("UTC")
        for chart, asker in ((Chart.CREDITS, None), (Chart.DEBT, None), (Chart.BALANCE, RESELLER)):
            began = time.perf_counter()
            where = await charts_data.scope(db, chart, asker=None, owner_ids=(), reseller=asker)
            data = await charts_data.build(
                db, chart, where, Window.MONTHS_12, Step(args.step), NOW, zone
            )
            read = time.perf_counter() - began
            began = time.perf_counter()
            png = await asyncio.to_thread(charts.render, picture_views.figure(data, r))
            drawn = time.perf_counter() - began
            print(f"{chart.name.lower()}: read in {read:.2f} s, drawn in {drawn:.2f} s "
                  f"({len(png) // 1024} KiB)")  # fmt: skip
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak memory (RSS): {peak:.0f} MiB")
    finally:
        await db.dispose()
        await drop_database(args.database_url, created)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--step", choices=[s.value for s in Step], default=Step.MONTH.value)
    parser.add_argument("--database-url", help="PostgreSQL server (a temporary database)")
    asyncio.run(main(parser.parse_args()))
