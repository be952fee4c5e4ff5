"""The admin suspends a reseller from its card and ticks "also their customers on the
panels"; reactivating resumes them (the real application, the fake Bot API, fake Marzbans)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from bot.db import Database
from bot.services import panels
from bot.settings import Settings
from tests.conftest import ADMIN_ID, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.panels.fake_marzban import MarzbanHarness
from tests.test_panel_suspension import KEY, sell_customers


@pytest.fixture
async def de(db: Database) -> AsyncIterator[tuple[MarzbanHarness, MarzbanHarness]]:
    de1, de2 = MarzbanHarness("marzban"), MarzbanHarness("marzban")
    await de1.fake.start()
    await de2.fake.start()
    await sell_customers(db, panels.SecretBox(KEY), {"de-1": de1, "de-2": de2})
    yield de1, de2
    await de1.fake.stop()
    await de2.fake.stop()


def _enabled(harness: MarzbanHarness, username: str) -> bool:
    stored = harness.stored(username)
    assert stored is not None, username
    return stored.enabled


async def _tap(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> Event:
    await fake_api.answer(await fake_api.tap(user, event, data))
    return await fake_api.next_event(user.id)


async def test_suspending_with_the_box_ticked_disables_their_customers_and_reactivating_resumes(
    db: Database,
    settings: Settings,
    fake_api: FakeBotAPI,
    de: tuple[MarzbanHarness, MarzbanHarness],
) -> None:
    de1, de2 = de
    de2.fail_next(500, times=2)  # ava's panel fails once; the rest still happen
    boss = fake_api.user(ADMIN_ID, "Boss")
    with_key = settings.model_copy(update={"secret_key": SecretStr(KEY)})
    async with running_bot(with_key, db):
        await fake_api.send(boss, "/resellers")
        listing = await fake_api.next_event(boss.id)
        card = await _tap(fake_api, boss, listing, "adm:rs:1001")
        prompt = await _tap(fake_api, boss, card, "adm:sus:1001")
        assert "⬜ Also disable their customers on the panels" in str(prompt.message)
        ticked = await _tap(fake_api, boss, prompt, "adm:susc:1001")
        assert "☑️ Also disable their customers on the panels" in str(ticked.message)
        await fake_api.send(boss, "Unpaid invoices")
        done = await fake_api.next_event(boss.id)
        assert "Status: <b>suspended</b>" in done.text
        assert "Disabled on the panels: 2 customers." in done.text
        assert "Failed: 1." in done.text and "ava (de-2: panel_unavailable)" in done.text
        assert not _enabled(de1, "ann") and not _enabled(de1, "amy")
        assert _enabled(de2, "ava") and _enabled(de1, "ben")  # Bob's customer is untouched

        back = await _tap(fake_api, boss, done, "adm:act:1001")
        assert "Status: <b>active</b>" in back.text
        assert "Resumed on the panels: 2 customers." in back.text
        assert _enabled(de1, "ann") and _enabled(de1, "amy")


async def test_suspending_without_ticking_the_box_leaves_the_panels_alone(
    db: Database,
    settings: Settings,
    fake_api: FakeBotAPI,
    de: tuple[MarzbanHarness, MarzbanHarness],
) -> None:
    de1, _ = de
    boss = fake_api.user(ADMIN_ID, "Boss")
    asked = len(de1.fake.requests)
    async with running_bot(settings.model_copy(update={"secret_key": SecretStr(KEY)}), db):
        await fake_api.send(boss, "/resellers")
        listing = await fake_api.next_event(boss.id)
        card = await _tap(fake_api, boss, listing, "adm:rs:1001")
        prompt = await _tap(fake_api, boss, card, "adm:sus:1001")
        done = await _tap(fake_api, boss, prompt, "adm:susy:1001")
        assert "Status: <b>suspended</b>" in done.text and "panels" not in done.text
        back = await _tap(fake_api, boss, done, "adm:act:1001")
        assert "Status: <b>active</b>" in back.text and "panels" not in back.text
    assert len(de1.fake.requests) == asked and _enabled(de1, "ann")
