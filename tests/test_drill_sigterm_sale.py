"""Failure drill: ``python -m bot`` is sent SIGTERM (a deploy, ``docker stop``) while a
sale waits for its panel.

Shutdown waits for the sale in flight: the panel answers, the order completes, the
reseller is told, and only then does the process exit, with the ledger sound. It waits
at most SHUTDOWN_GRACE_SECONDS: a sale still at its panel then is cut short, stays
pending with its hold, and reconciliation settles it at the next start (as after a
crash: tests/test_panel_crash.py)."""

from __future__ import annotations

import asyncio
import signal

from models import OrderStatus, OutboxStatus
from tests.test_panel_crash import (  # the same rig: a real process, fake Bot API and panel
    PATIENT,
    WITHIN,
    Rig,
    _audit_ok,
    _bot,
    _confirmation,
    _state,
    _tap,
    _told,
    _until,
    rig,
)

__all__ = ["rig"]  # the fixture, used by name

PANEL_SECONDS = 3.0  # how long the panel holds back its answer after storing the user


async def test_sigterm_mid_sale_waits_for_the_panel_and_completes_the_sale(rig: Rig) -> None:
    fake = rig.harness.fake
    async with _bot(rig, "first.log", **PATIENT) as proc:
        confirm = await _confirmation(rig, "john")
        fake.answer_next()  # the login
        fake.hang_next(PANEL_SECONDS)  # the create: stored, its answer late
        await _tap(rig, confirm, confirm.key("✅ Confirm"))
        await _until(rig, fake.user_stored.wait(), "the panel did not store the user")
        proc.send_signal(signal.SIGTERM)
        told = await _told(rig, "activated")
        assert "<b>john activated</b>" in told.text
        assert await asyncio.wait_for(proc.wait(), WITHIN) == 0
    after = await _state(rig)
    assert after.orders == [OrderStatus.COMPLETED]
    assert after.balance == (4_000, 0) and after.charges == 1
    assert after.customers == [("john", "john")]
    assert all(status != OutboxStatus.FAILED for _, status in after.notices)
    assert len(fake.calls("POST", "/api/user")) == 1
    await _audit_ok(rig)
    assert "Traceback" not in (rig.cwd / "first.log").read_text()


async def test_sigterm_waits_no_longer_than_the_grace_and_the_next_start_settles_the_sale(
    rig: Rig,
) -> None:
    fake = rig.harness.fake
    async with _bot(rig, "first.log", SHUTDOWN_GRACE_SECONDS="1", **PATIENT) as proc:
        confirm = await _confirmation(rig, "john")
        fake.answer_next()  # the login
        fake.hang_next(WITHIN)  # the create: stored, its answer later than any grace
        await _tap(rig, confirm, confirm.key("✅ Confirm"))
        await _until(rig, fake.user_stored.wait(), "the panel did not store the user")
        proc.send_signal(signal.SIGTERM)
        # Within the grace plus stopping's own few seconds, far short of the panel's wait.
        assert await asyncio.wait_for(proc.wait(), WITHIN / 4) == 0
    cut = await _state(rig)
    assert cut.orders == [OrderStatus.PENDING] and cut.balance == (5_000, 1_000)
    first_log = (rig.cwd / "first.log").read_text()
    assert "cancelled" in first_log and "Traceback" not in first_log

    async with _bot(rig, "second.log"):
        told = await _told(rig, "after all")
        assert "<b>john</b> was activated on panel de-1" in told.text
    after = await _state(rig)
    assert after.orders == [OrderStatus.COMPLETED]
    assert after.balance == (4_000, 0) and after.charges == 1
    assert len(fake.calls("POST", "/api/user")) == 1
    await _audit_ok(rig)
