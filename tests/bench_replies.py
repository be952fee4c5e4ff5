"""Benchmark: how fast the bot answers simple commands, against a bare echo bot.

    .venv/bin/python -m tests.bench_replies [--database-url URL] [--seconds 20]
                                            [--rounds 2] [--resellers 100] [--profile FILE]

A script, not a test. 100 resellers in closed loops over /balance, /history and /start
(each sends the next once the last was answered), with the rate setting at the
paid-broadcast level, against the bot in a process of its own; then the same loops
against a bare python-telegram-bot echo bot in a process of its own, on the same
fake Bot API in the same run, taking turns (bot, echo, echo, bot, ... in ``--rounds``
slices each, so that a shared machine whose load changes during the run moves both
sides alike). Prints updates answered a second, the reply's percentiles and the CPU
each process spent per update, and each figure as a ratio to the echo bot's.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import make_url

from bot.db import Database, upgrade_schema
from bot.services import resellers, wallet
from models import TxType
from tests.bench_activations import (
    PAID_RATE,
    BenchAPI,
    BotProcess,
    create_database,
    drop_database,
    ms,
    pct,
)
from tests.fake_bot_api import User

RESELLERS = 100
COMMANDS = (("/balance", "balance"), ("/history", ""), ("/start", ""))


def echo(url: str, token: str) -> None:
    """The child process: the smallest python-telegram-bot application that answers."""
    import logging

    from telegram import Update
    from telegram.ext import Application, ContextTypes, MessageHandler, filters

    logging.basicConfig(level=logging.WARNING)

    async def reply(update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(update.effective_message.text or "")

    app = (
        Application.builder()
        .token(token)
        .base_url(f"{url}/bot")
        .base_file_url(f"{url}/file/bot")
        .concurrent_updates(True)
        .build()
    )
    app.add_handler(MessageHandler(filters.TEXT, reply))
    app.run_polling(poll_interval=0, timeout=dt.timedelta(seconds=5))


class EchoProcess(BotProcess):
    """The echo bot, measured as the bot is."""

    def __init__(self, api: BenchAPI) -> None:
        context = multiprocessing.get_context("spawn")
        self.process = context.Process(target=echo, args=(api.url, api.token), daemon=True)


@dataclass
class Run:
    name: str
    replies: list[float] = field(default_factory=list)
    answered: int = 0
    cpu: float = 0.0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.answered / self.seconds

    @property
    def cpu_per_update(self) -> float:
        return self.cpu / max(self.answered, 1)


async def loop(
    api: BenchAPI, user: User, run: Run, echo_bot: bool, measure_from: float, stop_at: float
) -> None:
    for n in range(1_000_000):
        now = time.perf_counter()
        if now >= stop_at:
            return
        command, expect = COMMANDS[n % len(COMMANDS)]
        await api.act(user.id, api.send(user, command), command if echo_bot else expect)
        ended = time.perf_counter()
        if measure_from <= now and ended <= stop_at:
            run.replies.append(ended - now)
            run.answered += 1


async def measure(
    api: BenchAPI, process: BotProcess, users: list[User], run: Run, echo_bot: bool,
    seconds: float, warmup: float,
) -> None:  # fmt: skip
    async with process as bot:
        # The clock starts once the process answers everyone.
        await asyncio.gather(*(api.act(u.id, api.send(u, "/start"), "") for u in users))
        start = time.perf_counter()
        measure_from, stop_at = start + warmup, start + warmup + seconds
        loops = [
            asyncio.create_task(loop(api, u, run, echo_bot, measure_from, stop_at)) for u in users
        ]
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        cpu_from = bot.cpu_seconds()
        await asyncio.sleep(max(0.0, stop_at - time.perf_counter()))
        run.cpu += bot.cpu_seconds() - cpu_from
        run.seconds += seconds
        await asyncio.gather(*loops)


def report(run: Run, echo_run: Run | None) -> None:
    line = (
        f"{run.name}: {run.answered} answered in {run.seconds:.0f} s = {run.rate:.1f}/s; "
        f"reply p50 {ms(pct(run.replies, 50))}, p95 {ms(pct(run.replies, 95))}; "
        f"CPU {run.cpu / run.seconds:.0%} of a core, {run.cpu_per_update * 1000:.1f} ms per update"
    )
    print(line)
    if echo_run is not None:
        print(
            f"  against the echo bot: {run.rate / echo_run.rate:.2f}x its rate, "
            f"{pct(run.replies, 95) / pct(echo_run.replies, 95):.2f}x its p95, "
            f"{run.cpu_per_update / echo_run.cpu_per_update:.2f}x its CPU per update"
        )


async def main(args: argparse.Namespace) -> None:
    url, created = await create_database(args.database_url)
    try:
        db = Database.from_url(url)
        await upgrade_schema(db.engine)
        api = BenchAPI()
        await api.start()
        api.flood_limit = PAID_RATE
        users: list[User] = []
        for i in range(args.resellers):
            telegram_id = 1_000 + i
            await resellers.register_reseller(db, telegram_id=telegram_id, name=f"Reseller {i}")
            for k in range(3):  # a short history to page through
                await wallet.add_credit(
                    db, telegram_id=telegram_id, amount=1_000 + k, tx_type=TxType.PURCHASE,
                    actor="bench", key=f"bench:{telegram_id}:{k}", now=dt.datetime.now(dt.UTC),
                )  # fmt: skip
            users.append(api.user(telegram_id, f"Reseller {i}"))
        await db.dispose()
        print(
            f"database: {make_url(url).get_backend_name()}; {args.resellers} resellers in "
            f"closed loops over /balance, /history, /start; rate {PAID_RATE}/s"
        )
        bot_run, echo_run = Run("bot"), Run("echo bot")
        piece = args.seconds / args.rounds
        for round_ in range(args.rounds):
            profile = args.profile if round_ == 0 else None  # the first slice's
            bot: Any = BotProcess(api, url, PAID_RATE, profile=profile)
            turns = [(bot, bot_run, False), (EchoProcess(api), echo_run, True)]
            # Bot, echo, echo, bot, ...: a load rising or falling steadily favours neither.
            for process, run, echo_bot in turns[:: -1 if round_ % 2 else 1]:
                await measure(api, process, users, run, echo_bot, piece, args.warmup)
        await api.stop()
        report(echo_run, None)
        report(bot_run, echo_run)
        print(f"429s from the Bot API: {api.flood_429s}")
    finally:
        await drop_database(args.database_url, created)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL server (a temporary database)")
    parser.add_argument("--seconds", type=float, default=20, help="how long to measure each")
    parser.add_argument("--rounds", type=int, default=2, help="turns each process takes")
    parser.add_argument("--warmup", type=float, default=3, help="seconds not measured")
    parser.add_argument("--resellers", type=int, default=RESELLERS)
    parser.add_argument("--profile", help="write a cProfile of the bot's process to this file")
    asyncio.run(main(parser.parse_args()))
