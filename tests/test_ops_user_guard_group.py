"""The cross-instance user lock (bot/user_guard.py) for flows run in the admins' group.

An admin's flow in the group (suspending a reseller, refunding a payment) keeps its
draft in that admin's ``user_data``, as a private flow does; its updates are ordered by
the group. Two real applications on one PostgreSQL database stand for two instances, as
in ``tests/test_ops_user_guard.py``.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.db import Database
from models import Reseller
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller
from tests.test_ops_user_guard import (  # noqa: F401 - pg_db and pg_url: the fixtures
    Balancer,
    _settings,
    instance,
    pg_db,
    pg_url,
)

ALICE, BOB = 1001, 1002


async def _statuses(db: Database) -> dict[int, str]:
    async with db.transaction() as session:
        rows = await session.execute(select(Reseller.telegram_id, Reseller.status))
        return {telegram_id: status for telegram_id, status in rows}


async def test_a_suspension_begun_in_the_group_on_one_instance_ends_on_the_other_on_its_draft(
    fake_api: FakeBotAPI,
    pg_url: str,  # noqa: F811
    pg_db: Database,  # noqa: F811
) -> None:
    await make_reseller(pg_db, BOB, name="Bob", credit=1_000)
    boss = fake_api.user(ADMIN_ID, "Boss")
    settings = _settings(fake_api, pg_url)
    lb = Balancer()
    async with instance(settings, pg_url) as a, instance(settings, pg_url) as b:
        await fake_api.send(boss, "/resellers", chat_id=ADMIN_CHAT_ID)
        await lb.to(a)
        listing = await fake_api.next_event(ADMIN_CHAT_ID)
        # Suspending Alice begins on B, and is given up on A.
        tapped = await fake_api.tap(boss, listing, f"adm:sus:{ALICE}")
        await lb.to(b)
        await fake_api.answer(tapped)
        assert "Send the reason" in (await fake_api.next_event(ADMIN_CHAT_ID)).text
        await fake_api.send(boss, "/cancel", chat_id=ADMIN_CHAT_ID)
        await lb.to(a)
        assert "Nobody was suspended" in (await fake_api.next_event(ADMIN_CHAT_ID)).text
        # Suspending Bob begins on A; its reason reaches B.
        tapped = await fake_api.tap(boss, listing, f"adm:sus:{BOB}")
        await lb.to(a)
        await fake_api.answer(tapped)
        assert "Bob" in (await fake_api.next_event(ADMIN_CHAT_ID)).text
        await fake_api.send(boss, "Unpaid invoices", chat_id=ADMIN_CHAT_ID)
        await lb.to(b)
        done = await fake_api.next_event(ADMIN_CHAT_ID)
        assert "Status: <b>suspended</b>" in done.text and "Bob" in done.text
    assert await _statuses(pg_db) == {ALICE: "active", BOB: "suspended"}
