"""Two real bot processes on one PostgreSQL database: one runs the jobs, the other waits.

Both run `python -m bot` against the fake Bot API with the jobs on. Customers have a
reminder due; the sender is slowed down (4 messages a second) so that it is still
sending when the leader is killed with SIGKILL. The standby takes the jobs' lock over,
finishes the outbox and sends a reminder queued after the kill, and no customer gets
their reminder twice, except possibly the one message that was in flight.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from bot.db import Database
from bot.services import plans, resellers
from models import Customer
from tests.conftest import PG_URL, _pg_engine, _reset_postgres
from tests.fake_bot_api import FakeBotAPI
from tests.test_ops_leader import until

CUSTOMERS = 30
FIRST_CHAT = 5_000_000
RESELLER = 1001
TAKEOVER_SECONDS = 10  # the promise: another instance sends within 10 s of a leader's death


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _seed(db: Database, now: dt.datetime) -> tuple[int, int]:
    """A reseller, a plan, and linked customers whose 7-day reminder is due."""
    reseller = await resellers.register_reseller(db, telegram_id=RESELLER, name="Rita")
    plan = await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=100)
    await _add_customers(db, reseller.id, plan.id, range(CUSTOMERS), now)
    return reseller.id, plan.id


async def _add_customers(
    db: Database, reseller_id: int, plan_id: int, numbers: range, now: dt.datetime
) -> None:
    rows = [
        {
            "reseller_id": reseller_id, "username": f"user{i:03d}", "plan_id": plan_id,
            # Five days ahead: with offsets 7 only, one reminder is due at any time of day.
            "expires_at": now + dt.timedelta(days=5), "status": "active",
            "link_token": f"token{i:03d}", "chat_id": FIRST_CHAT + i, "created_at": now,
        }
        for i in numbers
    ]  # fmt: skip
    async with db.transaction() as session:
        await session.execute(insert(Customer), rows)


def _reminders(fake_api: FakeBotAPI, chats: range) -> collections.Counter[int]:
    return collections.Counter({chat: len(fake_api.events(FIRST_CHAT + chat)) for chat in chats})


async def _start(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=cwd, stdout=sink, stderr=subprocess.STDOUT
        )


async def _get(port: int, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://127.0.0.1:{port}{path}", timeout=10)


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_two_instances_run_the_jobs_once_and_the_standby_takes_over_a_killed_leader(
    fake_api: FakeBotAPI, postgres_schema: str, tmp_path: Path
) -> None:
    db = Database(_pg_engine(postgres_schema))
    await _reset_postgres(db)
    now = dt.datetime.now(dt.UTC)
    reseller_id, plan_id = await _seed(db, now)
    fake_api.user(RESELLER, "Rita")
    for i in range(CUSTOMERS + 1):
        fake_api.user(FIRST_CHAT + i, "Customer")

    ports = [_free_port(), _free_port()]
    base = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
    base |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_BASE_URL": fake_api.url,
        "DATABASE_URL": PG_URL,
        "DATABASE_SCHEMA": postgres_schema,
        "LOG_LEVEL": "INFO",
        "JOBS_ENABLED": "true",
        "REMINDER_OFFSETS_DAYS": "7",
        "REMINDERS_INTERVAL_SECONDS": "1",
        "OUTBOX_INTERVAL_SECONDS": "1",
        "TELEGRAM_MESSAGES_PER_SECOND": "4",
        "HEALTH_LISTEN": "127.0.0.1",
    }
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    procs: list[asyncio.subprocess.Process] = []
    try:
        procs.append(await _start(base | {"HEALTH_PORT": str(ports[0])}, tmp_path, logs[0]))
        await until(lambda: "now runs the jobs" in logs[0].read_text(), within=60)
        procs.append(await _start(base | {"HEALTH_PORT": str(ports[1])}, tmp_path, logs[1]))
        await until(lambda: "started" in logs[1].read_text(), within=60)
        await until(lambda: sum(_reminders(fake_api, range(CUSTOMERS)).values()) >= 8, 60)

        # Exactly one leader, and the standby ran no job.
        ready = [(await _get(port, "/readyz")).json() for port in ports]
        assert [r["jobs"] for r in ready] == ["leader", "standby"]
        standby_metrics = (await _get(ports[1], "/metrics")).text
        assert _metric(standby_metrics, "bot_jobs_leader") == 0
        assert "bot_job_runs_total{" not in standby_metrics
        leader_metrics = (await _get(ports[0], "/metrics")).text
        assert _metric(leader_metrics, "bot_jobs_leader") == 1
        assert "now runs the jobs" not in logs[1].read_text()

        procs[0].send_signal(signal.SIGKILL)
        await procs[0].wait()
        killed_at = time.monotonic()
        before = sum(_reminders(fake_api, range(CUSTOMERS)).values())
        assert before < CUSTOMERS, "the leader finished before it could be killed"
        # The next reminder comes from the other instance, within 10 s.
        await until(
            lambda: sum(_reminders(fake_api, range(CUSTOMERS)).values()) > before,
            within=TAKEOVER_SECONDS,
        )
        took = time.monotonic() - killed_at
        # A customer linked after the kill is reminded too: the reminder job runs there.
        await _add_customers(db, reseller_id, plan_id, range(CUSTOMERS, CUSTOMERS + 1), now)
        await until(lambda: all(_reminders(fake_api, range(CUSTOMERS + 1)).values()), within=60)
        await asyncio.sleep(2)  # anything sent twice would arrive meanwhile

        counts = _reminders(fake_api, range(CUSTOMERS + 1))
        twice = [chat for chat, n in counts.items() if n > 1]
        assert all(n >= 1 for n in counts.values())
        assert len(twice) <= 1 and all(counts[c] == 2 for c in twice), counts
        assert "now runs the jobs (leader)" in logs[1].read_text()
        after = (await _get(ports[1], "/readyz")).json()
        assert after["ready"] is True and after["jobs"] == "leader"
        print(f"takeover: the standby sent the next reminder {took:.1f} s after the kill")
    finally:
        for proc in procs:
            if proc.returncode is None:
                proc.send_signal(signal.SIGINT)
        codes = [await asyncio.wait_for(proc.wait(), 60) for proc in procs]
        await db.dispose()
    second: Any = logs[1].read_text()
    assert codes[1] == 0, second
    assert "Traceback" not in second
