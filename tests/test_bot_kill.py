"""`python -m bot` killed with SIGKILL in the middle of /topup, with no chance to save
anything on the way out: a new process continues the flow where the user was."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.db import Database, upgrade_schema
from models import ConversationState, TopUpRequest
from tests.conftest import ADMIN_CHAT_ID, PG_URL
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller, setup_topups

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
async def bot_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own for the bot process, migrated, with Alice and the top-up setup."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
        cleanup = None
    else:
        name = f"kill_{uuid.uuid4().hex[:12]}"
        admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
        except (OSError, ConnectionError) as exc:
            await admin.dispose()
            pytest.skip(f"PostgreSQL unreachable at {PG_URL}: {exc}")
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
        cleanup = (admin, name)
    db = Database.from_url(url)
    await upgrade_schema(db.engine)
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    await setup_topups(db)
    await db.dispose()
    yield url
    if cleanup is not None:
        admin, name = cleanup
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def _start(fake_api: FakeBotAPI, url: str, log: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_BASE_URL": fake_api.url,
        "DATABASE_URL": url,
        "ADMIN_IDS": "900",
        "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
        "LOG_LEVEL": "DEBUG",
        "PYTHONPATH": str(ROOT),  # this checkout's code, whatever the venv points at
    }
    with log.open("ab") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=ROOT,
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def _step_stored(db: Database, state: str, within: float = 10) -> None:
    """Wait (bounded) until the running process has written the flow's step."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        async with db.transaction() as session:
            found = await session.scalar(select(ConversationState.state))
        if found == f'"{state}"':
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the step {state} was not stored within {within}s")


async def _delivered(fake_api: FakeBotAPI, within: float = 10) -> None:
    """Wait until the bot has confirmed every update: killed before, it would be sent
    the last answer again."""
    deadline = time.monotonic() + within
    while fake_api.unconfirmed_updates():
        if time.monotonic() > deadline:
            raise AssertionError(f"updates not confirmed within {within}s")
        await asyncio.sleep(0.05)


async def test_a_bot_killed_mid_top_up_continues_it_after_a_restart_and_sends_it_once(
    fake_api: FakeBotAPI, bot_database_url: str, tmp_path: Path
) -> None:
    alice = fake_api.user(1001, "Alice")
    db = Database.from_url(bot_database_url)
    log = tmp_path / "bot.log"
    proc = await _start(fake_api, bot_database_url, log)
    try:
        await fake_api.send(alice, "/topup")
        ask = await fake_api.next_event(alice.id, within=60)
        await fake_api.send(alice, "100")
        priced = await fake_api.next_event(alice.id, within=30)
        assert "Top up: 100.00 credits" in priced.text
        await _step_stored(db, "topup:method")
        await _delivered(fake_api)
        proc.send_signal(signal.SIGKILL)
        assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL

        proc = await _start(fake_api, bot_database_url, log)
        tap = await fake_api.tap(alice, priced, priced.button("Bank"))
        await fake_api.answer(tap, within=60)
        instructions = await fake_api.next_event(alice.id, within=30)
        assert instructions.method == "editMessageText"
        assert instructions.message["message_id"] == ask.message["message_id"]
        assert "IBAN DE00" in instructions.text
        await fake_api.send(alice, "TX-12345")
        summary = await fake_api.next_event(alice.id, within=30)
        assert summary.message["message_id"] == ask.message["message_id"]
        confirm = summary.key("✅ Confirm")
        await fake_api.answer(await fake_api.tap(alice, summary, confirm), within=30)
        assert "request #1 sent" in (await fake_api.next_event(alice.id, within=30)).text
        again = await fake_api.answer(await fake_api.tap(alice, summary, confirm), within=30)
        assert "already sent" in again["text"]
    finally:
        proc.send_signal(signal.SIGINT)
        await asyncio.wait_for(proc.wait(), 60)
        async with db.transaction() as session:
            requests = await session.scalar(select(func.count()).select_from(TopUpRequest))
        await db.dispose()
    assert requests == 1, log.read_text()
    assert "Traceback" not in log.read_text()
