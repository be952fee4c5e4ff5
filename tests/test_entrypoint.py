"""`python -m bot` as an operator runs it, against the fake Bot API server.

The CLI creates a reseller and credits; the bot process starts on an empty SQLite file
(migrating it), answers /start and /balance, and stops cleanly on SIGINT. At DEBUG level,
where the HTTP client logs every request URL, the token never reaches the log.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.instance import AlreadyRunning, lock_path, sole_instance
from tests.fake_bot_api import FakeBotAPI


def _env(fake_api: FakeBotAPI, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TELEGRAM_BOT_TOKEN", "ADMIN_IDS"}}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_BASE_URL": fake_api.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / 'bot.db'}",
        "ADMIN_IDS": "900",
        "LOG_LEVEL": "DEBUG",
    }
    return env | extra


def _cli(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def _start_bot(env: dict[str, str], cwd: Path, log: Path) -> asyncio.subprocess.Process:
    with log.open("wb") as sink:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=env, cwd=cwd,
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip


async def test_operator_creates_a_reseller_and_the_running_bot_serves_them(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    env = _env(fake_api, tmp_path)
    # The CLI blocks this loop, which is fine: it never talks to the Bot API.
    steps = [
        ("reseller", "add", "--telegram-id", "1001", "--name", "Alice", "--threshold", "20"),
        ("credit", "add", "--reseller", "1001", "--amount", "150", "--type", "purchase"),
        ("credit", "remove", "--reseller", "1001", "--amount", "25.50", "--type", "adjustment"),
    ]
    for step in steps:
        done = _cli(env, tmp_path, *step)
        assert done.returncode == 0, done.stderr

    log = tmp_path / "bot.log"
    proc = await _start_bot(env, tmp_path, log)
    try:
        alice = fake_api.user(1001, "Alice")
        await fake_api.send(alice, "/start")
        menu = await fake_api.next_event(alice.id, within=60)
        assert "Hello, Alice" in menu.text and menu.buttons
        await fake_api.send(alice, "/balance")
        balance = await fake_api.next_event(alice.id, within=30)
        assert "Available: <b>124.50 credits</b>" in balance.text
        eve = fake_api.user(4242, "Eve")
        await fake_api.send(eve, "/start")
        assert "<code>4242</code>" in (await fake_api.next_event(eve.id, within=30)).text
    finally:
        proc.send_signal(signal.SIGINT)
        code = await asyncio.wait_for(proc.wait(), 60)
    output = log.read_text()
    assert code == 0, output
    assert fake_api.token not in output
    assert fake_api.token.split(":")[1] not in output
    assert "[REDACTED]" in output  # the request URLs were logged, with the token redacted
    assert "Traceback" not in output

    audit = _cli(env, tmp_path, "audit")
    assert audit.returncode == 0 and "Ledger audit OK" in audit.stdout


def test_missing_token_is_one_clear_line(fake_api: FakeBotAPI, tmp_path: Path) -> None:
    env = _env(fake_api, tmp_path)
    del env["TELEGRAM_BOT_TOKEN"]
    done = _cli(env, tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: TELEGRAM_BOT_TOKEN is not set. Put it in .env (see .env.example) "
        "or in the environment."
    ]


async def test_rejected_token_is_one_clear_line_without_the_token(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    wrong = "999999:WRONG-token-zzzzzzzzzzzzzzzzzzzzzzzz"
    log = tmp_path / "bot.log"
    proc = await _start_bot(_env(fake_api, tmp_path, TELEGRAM_BOT_TOKEN=wrong), tmp_path, log)
    code = await asyncio.wait_for(proc.wait(), 60)
    output = log.read_text()
    assert code == 1
    # The library logs its own (redacted) traceback; the operator's last line is ours.
    assert output.strip().splitlines()[-1].startswith("error: Telegram rejected")
    assert wrong not in output and wrong.split(":")[1] not in output


@pytest.mark.parametrize("setting", [("TIMEZONE", "Mars/Base"), ("ADMIN_IDS", "one,two")])
def test_bad_setting_is_named(fake_api: FakeBotAPI, tmp_path: Path, setting) -> None:
    done = _cli(_env(fake_api, tmp_path, **dict([setting])), tmp_path)
    assert done.returncode == 2
    assert setting[0] in done.stderr and "Traceback" not in done.stderr


async def test_a_second_bot_on_the_same_sqlite_file_refuses_to_start(
    fake_api: FakeBotAPI, tmp_path: Path
) -> None:
    env = _env(fake_api, tmp_path, LOG_LEVEL="INFO")
    assert (
        _cli(env, tmp_path, "reseller", "add", "--telegram-id", "1001", "--name", "A").returncode
        == 0
    )
    first = await _start_bot(env, tmp_path, tmp_path / "first.log")
    try:
        alice = fake_api.user(1001, "Alice")
        await fake_api.send(alice, "/start")
        await fake_api.next_event(alice.id, within=60)  # the first one is up
        second = await asyncio.to_thread(_cli, env, tmp_path)
        assert second.returncode == 1
        assert "another bot is already running on this SQLite database" in second.stderr
        assert "use PostgreSQL to run several" in second.stderr
        await fake_api.send(alice, "/balance")  # the first one carries on
        assert "Available" in (await fake_api.next_event(alice.id, within=30)).text
    finally:
        first.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(first.wait(), 60) == 0
    # Once the first has stopped, the lock is free again.
    with sole_instance(env["DATABASE_URL"]):
        pass


def test_the_instance_lock_is_for_sqlite_files_only_and_held_once(tmp_path: Path) -> None:
    assert lock_path("postgresql+asyncpg://postgres@127.0.0.1/test") is None
    assert lock_path("sqlite+aiosqlite:///:memory:") is None
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    assert lock_path(url) == tmp_path / "bot.db.lock"
    with sole_instance(url), pytest.raises(AlreadyRunning), sole_instance(url):
        pass
    with sole_instance(url):  # released when the first block ended
        pass
