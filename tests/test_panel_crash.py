"""The bot process killed (SIGKILL) in the middle of a panel sale, then started again.

The bot runs as ``python -m bot`` against the fake Bot API and a fake Marzban, both
served from this test's event loop on loopback ports. The fake panel tells the test the
moment to kill: when it has stored the user (its answer held back), or when the first
request of the sale arrives (the hold placed, the user not yet asked for). After the
restart, reconciliation must settle the order exactly once and tell the reseller.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import func, select

from bot.db import Database
from bot.services import ledger
from bot.services.resellers import require_by_telegram_id
from models import (
    Customer,
    EntryKind,
    OrderStatus,
    OutboxMessage,
    OutboxStatus,
    SubscriptionOrder,
    Transfer,
)
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness

RESELLER = 1001
WITHIN = 60.0  # a bound on each wait, never a pause: every wait ends as soon as it can
# The first run waits for the panel longer than the test takes to kill it, so the kill
# lands at the chosen moment even on a loaded machine; the second run's short timeout
# (with no grace) lets reconciliation ask the panel about the order within seconds.
PATIENT = {"PROVISIONING_TIMEOUT_SECONDS": str(int(WITHIN))}


@dataclass
class Rig:
    fake_api: FakeBotAPI
    harness: MarzbanHarness
    env: dict[str, str]
    cwd: Path
    database_url: str
    alice: User


async def _cli(rig: Rig, *args: str, **env: str) -> str:
    # A subprocess on this loop: the CLI must not block the fakes it may talk to.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, env=rig.env | env, cwd=rig.cwd,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), WITHIN)
    assert proc.returncode == 0, (args, err.decode())
    return out.decode()


@pytest.fixture
async def rig(fake_api: FakeBotAPI, tmp_path: Path) -> AsyncIterator[Rig]:
    harness = MarzbanHarness("marzban")
    await harness.fake.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PANEL_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": fake_api.token,
        "TELEGRAM_API_BASE_URL": fake_api.url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "SECRET_KEY": Fernet.generate_key().decode(),
        "ADMIN_IDS": "900",
        "LOG_LEVEL": "INFO",
        "PROVISIONING_TIMEOUT_SECONDS": "1",
        "RECONCILE_GRACE_SECONDS": "0",
        "RECONCILE_INTERVAL_SECONDS": "1",
    }
    rig = Rig(fake_api, harness, env, tmp_path, env["DATABASE_URL"], fake_api.user(RESELLER))
    await _cli(rig, "reseller", "add", "--telegram-id", str(RESELLER), "--name", "Alice")
    await _cli(rig, "credit", "add", "--reseller", str(RESELLER), "--amount", "50",
               "--type", "purchase")  # fmt: skip
    # Credentials from the environment, as an operator gives them: never as arguments.
    await _cli(rig, "panel", "add", "--name", "de-1", "--kind", "marzban", "--url",
               harness.fake.url, PANEL_USERNAME=ADMIN, PANEL_PASSWORD=PASSWORD)  # fmt: skip
    await _cli(rig, "plan", "add", "--code", "vpn-1m", "--name", "VPN 1 month", "--days", "30",
               "--price", "10", "--panel", "de-1", "--template", json.dumps(harness.template()),
               "--data-limit-gb", "50")  # fmt: skip
    yield rig
    await harness.fake.stop()


def _logs(rig: Rig) -> str:
    """The bot processes' logs, for a failure's message."""
    return "\n".join(
        f"--- {log.name}\n{log.read_text()[-4000:]}" for log in sorted(rig.cwd.glob("*.log"))
    )


async def _until(rig: Rig, what: Awaitable[object], failure: str) -> None:
    try:
        await asyncio.wait_for(what, WITHIN)
    except TimeoutError:
        raise AssertionError(f"{failure} within {WITHIN}s\n{_logs(rig)}") from None


@asynccontextmanager
async def _bot(rig: Rig, log_name: str, **env: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """The bot as a process; stopped with SIGINT at the end unless the test killed it."""
    with (rig.cwd / log_name).open("wb") as sink:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", env=rig.env | env, cwd=rig.cwd,
            stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), WITHIN)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def _kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), WITHIN) == -signal.SIGKILL


async def _tap(rig: Rig, event: Event, data: str) -> None:
    await rig.fake_api.tap(rig.alice, event, data)


async def _confirmation(rig: Rig, username: str) -> Event:
    api, alice = rig.fake_api, rig.alice
    await api.send(alice, "/activate")
    await api.next_event(alice.id, within=WITHIN)
    await api.send(alice, username)
    picker = await api.next_event(alice.id, within=WITHIN)
    await _tap(rig, picker, picker.button("VPN 1 month"))
    confirm = await api.next_event(alice.id, within=WITHIN)
    assert "Confirm activation" in confirm.text
    return confirm


async def _told(rig: Rig, part: str) -> Event:
    """The first message to Alice, from now on, that contains ``part`` (bounded wait)."""
    deadline = asyncio.get_running_loop().time() + WITHIN
    while True:
        left = deadline - asyncio.get_running_loop().time()
        try:
            event = await rig.fake_api.next_event(rig.alice.id, within=max(left, 0.01))
        except AssertionError as exc:
            raise AssertionError(f"Alice was not told {part!r}: {exc}\n{_logs(rig)}") from None
        if part in event.text:
            return event


def _told_count(rig: Rig, part: str) -> int:
    return sum(part in e.text for e in rig.fake_api.events(rig.alice.id))


@dataclass(frozen=True)
class State:
    orders: list[OrderStatus]
    balance: tuple[int, int]
    customers: list[tuple[str, str | None]]
    charges: int  # activation transfers in the ledger
    notices: list[tuple[str, OutboxStatus]]


async def _state(rig: Rig) -> State:
    db = Database.from_url(rig.database_url)
    try:
        async with db.transaction() as session:
            orders = [
                OrderStatus(s) for s in await session.scalars(select(SubscriptionOrder.status))
            ]
            reseller = await require_by_telegram_id(session, RESELLER)
            b = await ledger.balance(session, reseller.account_id)
            customers = [
                (c.username, c.external_id) for c in await session.scalars(select(Customer))
            ]
            charges = await session.scalar(
                select(func.count())
                .select_from(Transfer)
                .where(Transfer.kind == EntryKind.ACTIVATION)
            )
            # The sale's notices (the setup's credit add tells the reseller too).
            notices = [
                (m.kind, OutboxStatus(m.status))
                for m in await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
                if m.kind.startswith("sale_")
            ]
    finally:
        await db.dispose()
    return State(orders, (b.balance, b.held), customers, charges or 0, notices)


async def _audit_ok(rig: Rig) -> None:
    assert "Ledger audit OK" in await _cli(rig, "audit")


async def test_killed_after_the_panel_created_the_user_the_restart_charges_once_and_tells(
    rig: Rig,
) -> None:
    fake = rig.harness.fake
    async with _bot(rig, "first.log", **PATIENT) as proc:
        confirm = await _confirmation(rig, "john")
        fake.answer_next()  # the login
        fake.hang_next(WITHIN)  # the create: stored, then the answer is held back
        await _tap(rig, confirm, confirm.key("✅ Confirm"))
        await _until(rig, fake.user_stored.wait(), "the panel did not store the user")
        await _kill(proc)
    before = await _state(rig)
    assert before.orders == [OrderStatus.PENDING] and before.balance == (5_000, 1_000)
    assert before.customers == [] and before.charges == 0

    async with _bot(rig, "second.log"):
        told = await _told(rig, "after all")
        assert "<b>john</b> was activated on panel de-1" in told.text
        assert "10.00 credits charged" in told.text
    after = await _state(rig)
    assert after.orders == [OrderStatus.COMPLETED]
    assert after.balance == (4_000, 0) and after.charges == 1
    assert after.customers == [("john", "john")]
    assert after.notices == [("sale_settled", OutboxStatus.SENT)]
    assert _told_count(rig, "after all") == 1
    assert len(fake.calls("POST", "/api/user")) == 1 and list(fake.users) == ["john"]
    await _audit_ok(rig)


async def test_killed_before_the_panel_was_asked_the_restart_releases_the_hold_and_tells(
    rig: Rig,
) -> None:
    fake = rig.harness.fake
    async with _bot(rig, "first.log", **PATIENT) as proc:
        confirm = await _confirmation(rig, "john")
        fake.hang_next(WITHIN)  # the sale's first request to the panel: its login
        await _tap(rig, confirm, confirm.key("✅ Confirm"))
        await _until(rig, fake.arrived.wait(), "the panel was not asked")
        held = await _state(rig)
        await _kill(proc)
    assert held.orders == [OrderStatus.PENDING] and held.balance == (5_000, 1_000)
    assert fake.calls("POST", "/api/user") == []

    async with _bot(rig, "second.log"):
        told = await _told(rig, "did not go through")
        assert "<b>john</b> did not go through on panel de-1" in told.text
        assert "nothing was charged" in told.text
    after = await _state(rig)
    assert after.orders == [OrderStatus.FAILED]
    assert after.balance == (5_000, 0) and after.charges == 0
    assert after.customers == []
    assert after.notices == [("sale_voided", OutboxStatus.SENT)]
    assert _told_count(rig, "did not go through") == 1
    assert fake.calls("POST", "/api/user") == [] and fake.users == {}
    await _audit_ok(rig)
