"""Benchmark: resellers activating customers at once, and a reply while notices drain.

    .venv/bin/python -m tests.bench_activations [--database-url URL] [--seconds 30]
                                                [--resellers 50] [--profile FILE]
    .venv/bin/python -m tests.bench_activations --mode balance [--database-url URL]

A script, not a test. The bot runs in a process of its own, as in production, against
the fake Bot API and the simulated users in this one (Telegram is not in the bot's
process either). SQLite lives in a temporary folder; for PostgreSQL, --database-url
names a server and database to connect to, and a temporary database is created there
and dropped at the end. Other settings come from the environment, as for the bot: with
MAX_CONCURRENT_UPDATES=1 it handles one update at a time.

``activations``: 50 resellers in closed loops through the whole flow (New customer, a
username, a plan, Confirm) against a panel that answers in 200 ms, with the rate
setting at the paid-broadcast level (1000 a second) and the fake Bot API's flood limit
with it. Prints activations a second, and the 50th and 95th percentiles of a confirm
(tap to result) and of a whole flow.

``balance``: 10,000 expiry reminders queued, drained by the bot's own outbox job at the
default rate (30 a second, the fake's flood limit too), while a reseller asks /balance
again and again. Prints the reply's percentiles and what the sender achieved meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import datetime as dt
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

import jobs
from bot.app import build_application, install_event_loop
from bot.db import Database, upgrade_schema
from bot.services import plans, resellers, wallet
from bot.services.provisioning import (
    CreateSubscription,
    ExtendSubscription,
    LocalProvider,
    Provisioned,
)
from bot.settings import Settings
from models import TxType
from tests.bench_reminders import fill
from tests.fake_bot_api import Event, FakeBotAPI, User, _ChatLog

RESELLERS = 50
PANEL_SECONDS = 0.2
PAID_RATE = 1000  # Telegram's limit with paid broadcasts
DEFAULT_RATE = 30
REMINDERS = 10_000
STEP_TIMEOUT = 60.0


class SlowPanel(LocalProvider):
    """A panel that takes 200 ms to answer."""

    async def create(self, request: CreateSubscription) -> Provisioned:
        await asyncio.sleep(PANEL_SECONDS)
        return await super().create(request)

    async def extend(self, request: ExtendSubscription) -> Provisioned:
        await asyncio.sleep(PANEL_SECONDS)
        return await super().extend(request)


class BenchAPI(FakeBotAPI):
    """The fake Bot API, telling each simulated user of the bot's next move directly
    (instead of waking every waiting user at every event)."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, asyncio.Future[Event]] = {}

    async def _record(self, log: _ChatLog, method: str, message: dict[str, Any]) -> None:
        await super()._record(log, method, message)
        log.read = len(log.events)  # nobody reads them through next_event here
        future = self.waiting.pop(log.chat.id, None)
        if future is not None and not future.done():
            future.set_result(log.events[-1])

    async def act(self, chat_id: int, action: Any, expect: str) -> Event:
        """Do ``action`` (a coroutine pushing an update) and wait for the bot's answer."""
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        await action
        event = await asyncio.wait_for(future, STEP_TIMEOUT)
        if expect not in event.text:
            raise AssertionError(f"expected {expect!r}, the bot said {event.text[:200]!r}")
        return event


# --- the bot, in its own process -----------------------------------------------------------


def bot_settings(url: str, token: str, database_url: str, rate: float) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(token),
        telegram_api_base_url=url,
        database_url=database_url,
        telegram_messages_per_second=rate,
        telegram_paid_broadcast=rate > DEFAULT_RATE,
        jobs_enabled=False,
        log_level="WARNING",
    )


def serve(
    url: str, token: str, database_url: str, rate: float, sender: bool, profile: str | None
) -> None:
    """The child process: the real application, polling the fake Bot API."""
    import logging

    logging.basicConfig(level=logging.WARNING)
    install_event_loop()  # as python -m bot runs
    settings = bot_settings(url, token, database_url, rate)
    app = build_application(settings, Database.from_url(database_url), SlowPanel())
    if sender:
        # Only the outbox sender, scheduled as jobs.register schedules it: the other
        # jobs have nothing to do here and would only add their own start-up scans.
        assert app.job_queue is not None
        app.job_queue.run_repeating(
            jobs.outbox_job, interval=settings.outbox_interval_seconds, first=0.5,
            name="outbox", job_kwargs={"max_instances": 1, "coalesce": True},
        )  # fmt: skip
    profiler = cProfile.Profile()
    if profile:
        profiler.enable()
    try:
        app.run_polling(poll_interval=0, timeout=dt.timedelta(seconds=5))
    finally:
        if profile:
            profiler.disable()
            profiler.dump_stats(profile)


class BotProcess:
    def __init__(
        self, api: FakeBotAPI, database_url: str, rate: float, *, sender: bool = False,
        profile: str | None = None,
    ) -> None:  # fmt: skip
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(
            target=serve, args=(api.url, api.token, database_url, rate, sender, profile),
            daemon=True,
        )  # fmt: skip

    async def __aenter__(self) -> BotProcess:
        self.process.start()
        return self

    def cpu_seconds(self) -> float:
        """User and system CPU time the bot's process has used so far (Linux)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def __aexit__(self, *exc: object) -> None:
        self.process.terminate()  # SIGTERM: run_polling stops gracefully
        # Waited for off the event loop: the fake Bot API must answer its last calls.
        await asyncio.to_thread(self.process.join, 20)
        if self.process.is_alive():
            self.process.kill()


# --- databases -------------------------------------------------------------------------------


async def create_database(server_url: str | None) -> tuple[str, str | None]:
    """(URL of an empty database, name of a PostgreSQL database to drop afterwards)."""
    if server_url is None or make_url(server_url).get_backend_name() == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="bench-"))
        return server_url or f"sqlite+aiosqlite:///{folder / 'bench.db'}", None
    name = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return url, name


async def drop_database(server_url: str | None, name: str | None) -> None:
    if server_url is None or name is None:
        return
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


# --- measuring -------------------------------------------------------------------------------


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


@dataclass
class Sales:
    done: list[float] = field(default_factory=list)  # when each activation completed
    confirm: list[float] = field(default_factory=list)
    flow: list[float] = field(default_factory=list)


async def reseller(
    api: BenchAPI, user: User, menu: dict[str, Any], plan: str, sales: Sales,
    measure_from: float, stop_at: float,
) -> None:  # fmt: skip
    """One reseller in a closed loop: the next flow starts when the last one ended."""
    for n in range(1_000_000):
        if time.perf_counter() >= stop_at:
            return
        began = time.perf_counter()
        asked = await api.act(user.id, api.tap(user, menu, "cu:new"), "customer's username")
        name = f"r{user.id}n{n}"
        picker = await api.act(user.id, api.send(user, name), "Pick a plan")
        confirm = await api.act(user.id, api.tap(user, picker.message, plan), "Confirm activation")
        tapped = time.perf_counter()
        await api.act(
            user.id, api.tap(user, confirm.message, confirm.key("✅ Confirm")), "activated"
        )
        ended = time.perf_counter()
        if measure_from <= ended <= stop_at:  # completed within the measured window
            sales.done.append(ended)
            sales.confirm.append(ended - tapped)
            sales.flow.append(ended - began)
        menu = asked.message


async def activations(
    database_url: str, seconds: float, warmup: float, how_many: int, profile: str | None
) -> None:
    db = Database.from_url(database_url)
    await upgrade_schema(db.engine)
    plan = await plans.add_plan(db, code="m1", name="IPTV 1 month", days=30, price=100)
    api = BenchAPI()
    await api.start()
    api.flood_limit = PAID_RATE
    users = []
    for i in range(how_many):
        telegram_id = 1_000 + i
        await resellers.register_reseller(db, telegram_id=telegram_id, name=f"Reseller {i}")
        await wallet.add_credit(
            db, telegram_id=telegram_id, amount=100_000_000, tx_type=TxType.PURCHASE,
            actor="bench", key=f"bench:{telegram_id}", now=dt.datetime.now(dt.UTC),
        )  # fmt: skip
        users.append(api.user(telegram_id, f"Reseller {i}"))
    await db.dispose()
    print(
        f"database: {make_url(database_url).get_backend_name()}; {how_many} resellers, "
        f"panel answers in {ms(PANEL_SECONDS)}, rate {PAID_RATE}/s (paid broadcasts)"
    )
    sales = Sales()
    async with BotProcess(api, database_url, PAID_RATE, profile=profile) as bot:
        # The clock starts once the bot has started and shown every reseller the menu.
        menus = await asyncio.gather(*(api.act(u.id, api.send(u, "/start"), "") for u in users))
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds
        loops = [
            asyncio.create_task(
                reseller(api, u, m.message, f"cu:p:{plan.id}", sales, measure_from, stop_at)
            )
            for u, m in zip(users, menus, strict=True)
        ]
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_from = bot.cpu_seconds()
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        cpu = bot.cpu_seconds() - cpu_from
        await asyncio.gather(*loops)
    await api.stop()
    count = len(sales.done)
    print(f"activations: {count} in {seconds:.0f} s = {count / seconds:.1f}/s "
          f"(after {warmup:.0f} s of warm-up)")  # fmt: skip
    print(f"confirm (tap to result): p50 {ms(pct(sales.confirm, 50))}, "
          f"p95 {ms(pct(sales.confirm, 95))}")  # fmt: skip
    print(f"whole flow (New customer to result): p50 {ms(pct(sales.flow, 50))}, "
          f"p95 {ms(pct(sales.flow, 95))}")  # fmt: skip
    print(
        f"bot process CPU: {cpu / seconds:.0%} of a core, {ms(cpu / max(count, 1))} per "
        f"activation; 429s from the Bot API: {api.flood_429s}"
    )


async def balance(database_url: str, seconds: float, warmup: float, profile: str | None) -> None:
    db = Database.from_url(database_url)
    await upgrade_schema(db.engine)
    now = dt.datetime.now(dt.UTC)
    await fill(db, REMINDERS, now)  # reseller 1 and 10,000 customers due a reminder
    settings = bot_settings("", "1:x", database_url, DEFAULT_RATE)
    queued = await jobs.run_reminders(db, settings, now)
    await db.dispose()
    api = BenchAPI()
    await api.start()
    api.flood_limit = DEFAULT_RATE
    for chat_id in range(10_000_000, 10_000_000 + REMINDERS):
        api.user(chat_id, "Customer")
    user = api.user(1, "Bench")
    print(f"database: {make_url(database_url).get_backend_name()}; {queued} reminders queued, "
          f"rate {DEFAULT_RATE}/s")  # fmt: skip
    replies: list[float] = []
    async with BotProcess(api, database_url, DEFAULT_RATE, sender=True, profile=profile):
        await api.act(user.id, api.send(user, "/balance"), "Your balance")  # started
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds
        notices_before = 0
        while time.perf_counter() < stop_at:
            if not notices_before and time.perf_counter() >= measure_from:
                notices_before = _notices(api)
            asked = time.perf_counter()
            await api.act(user.id, api.send(user, "/balance"), "Your balance")
            if asked >= measure_from:
                replies.append(time.perf_counter() - asked)
            await asyncio.sleep(0.2)  # the reseller reads, then asks again
        notices = _notices(api) - notices_before
    await api.stop()
    print(
        f"/balance while the reminders drain: {len(replies)} asked, p50 {ms(pct(replies, 50))}, "
        f"p95 {ms(pct(replies, 95))}, max {ms(max(replies))}"
    )
    print(f"sender meanwhile: {notices} reminders in {seconds:.0f} s = "
          f"{notices / seconds:.1f}/s; 429s from the Bot API: {api.flood_429s}")  # fmt: skip


def _notices(api: FakeBotAPI) -> int:
    return sum(len(api.events(chat_id)) for chat_id in range(10_000_000, 10_000_000 + REMINDERS))


async def main(args: argparse.Namespace) -> None:
    url, created = await create_database(args.database_url)
    try:
        if args.mode == "activations":
            await activations(url, args.seconds, args.warmup, args.resellers, args.profile)
        else:
            await balance(url, args.seconds, args.warmup, args.profile)
    finally:
        await drop_database(args.database_url, created)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("activations", "balance"), default="activations")
    parser.add_argument("--database-url", help="PostgreSQL server (a temporary database)")
    parser.add_argument("--seconds", type=float, default=30, help="how long to measure")
    parser.add_argument("--warmup", type=float, default=5, help="seconds not measured")
    parser.add_argument("--resellers", type=int, default=RESELLERS)
    parser.add_argument("--profile", help="write a cProfile of the bot's process to this file")
    asyncio.run(main(parser.parse_args()))
