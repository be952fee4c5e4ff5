"""Failure drill: SQLite's disk fills up while the bot runs.

The bot's connection is given a ``max_page_count`` no larger than the file, so every
write that needs a new page fails with SQLITE_FULL, as on a full disk. The user is told
to try later, the failure is logged, the file stays sound (integrity check, ledger
audit), and once there is room again the same request goes through."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.db import Database
from bot.errors import STORAGE_UNAVAILABLE as TRY_LATER
from bot.settings import Settings
from models import TopUpRequest
from tests.conftest import running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, setup_topups

ROOMY = 1_073_741_823  # SQLite's default max_page_count


def _small_pages(database_url: str) -> None:
    """Rewrite the file with SQLite's smallest page, where a new row rarely fits beside
    the others: the next write then needs a page, and a full disk shows at once."""
    with closing(sqlite3.connect(make_url(database_url).database or "")) as conn:
        conn.execute("PRAGMA journal_mode=DELETE")
        conn.execute("PRAGMA page_size=512")
        conn.execute("VACUUM")
        conn.execute("PRAGMA journal_mode=WAL")


async def _fill_disk(db: Database) -> None:
    """No page beyond the file's present size (and VACUUM left none free) on the bot's
    connection: a file database has exactly one, pooled."""
    async with db.engine.connect() as conn:
        pages = int((await conn.exec_driver_sql("PRAGMA page_count")).scalar_one())
        await conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")


async def _make_room(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.exec_driver_sql(f"PRAGMA max_page_count = {ROOMY}")


async def _integrity(db: Database) -> str:
    async with db.engine.connect() as conn:
        return str((await conn.exec_driver_sql("PRAGMA integrity_check")).scalar_one())


async def _requests(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(TopUpRequest)) or 0)


async def _top_up(fake_api: FakeBotAPI, alice: User) -> str:
    """A top-up of 100 credits by bank transfer, to its end: what the last step said
    (the confirmation, or the refusal of whichever step could not be saved)."""

    async def tap(event: Event, data: str) -> None:
        await fake_api.answer(await fake_api.tap(alice, event, data))

    steps: list[Callable[[Event], Awaitable[object]]] = [
        lambda _: fake_api.send(alice, "/topup"),
        lambda _: fake_api.send(alice, "100"),
        lambda shown: tap(shown, shown.button("Bank")),
        lambda _: fake_api.send(alice, "TX-" + "7" * 120),  # long rows fill pages sooner
        lambda shown: tap(shown, shown.key("✅ Confirm")),
    ]
    shown = Event("none", {})
    for step in steps:
        await step(shown)
        shown = await fake_api.next_event(alice.id)
        if shown.text == TRY_LATER:
            break
    return shown.text


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_full_disk_is_reported_changes_nothing_and_the_bot_resumes_with_room(
    database_url: str, settings: Settings, fake_api: FakeBotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    _small_pages(database_url)
    db = Database.from_url(database_url)
    await make_reseller(db, 1001, name="Alice", credit=1_000)
    await setup_topups(db)
    alice = fake_api.user(1001, "Alice")
    settings = settings.model_copy(update={"topup_max_pending": 100})
    async with running_bot(settings, db):
        await _fill_disk(db)
        # Rows fit beside others until a write needs a new page: then the disk is full.
        sent = 0
        with caplog.at_level(logging.ERROR):
            for _ in range(20):
                said = await _top_up(fake_api, alice)
                if said == TRY_LATER:
                    break
                assert f"request #{sent + 1} sent" in said
                sent += 1
            else:
                raise AssertionError("20 top-ups fitted: the disk never filled up")
        assert any("disk is full" in (r.exc_text or r.getMessage()) for r in caplog.records)
        assert await _requests(db) == sent  # nothing of the refused one
        assert await _integrity(db) == "ok"
        await assert_audit_ok(db)

        await _make_room(db)
        assert f"request #{sent + 1} sent" in await _top_up(fake_api, alice)
    assert await _requests(db) == sent + 1
    assert await _integrity(db) == "ok"
    await assert_audit_ok(db)
    await db.dispose()
