"""Failure drill: PostgreSQL goes away while the bot runs, then comes back.

The outage is a TCP forwarder between the bot and the server, cut (every connection
reset, new ones refused) and restored: the machine's server keeps running for others.
Requests during the outage get a clear "try again later", nothing is half-written, and
the bot recovers by itself, with no restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bot.db import Database
from bot.errors import STORAGE_UNAVAILABLE as TRY_LATER
from bot.settings import Settings
from models import TopUpRequest
from tests.conftest import ADMIN_CHAT_ID, ADMIN_ID, PG_URL, _reset_postgres, running_bot
from tests.fake_bot_api import Event, FakeBotAPI, User
from tests.helpers import assert_audit_ok, make_reseller, setup_topups
from tests.tcp_proxy import TcpProxy


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    target = make_url(PG_URL)
    forwarder = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await forwarder.start()
    yield forwarder
    await forwarder.stop()


@pytest.fixture
async def direct(postgres_schema: str) -> AsyncIterator[Database]:
    """The test's own way to the database, around the forwarder: to seed and to check."""
    db = Database.from_url(PG_URL, schema=postgres_schema)
    await _reset_postgres(db)
    yield db
    await db.dispose()


def _through(proxy: TcpProxy) -> str:
    return make_url(PG_URL).set(host="127.0.0.1", port=proxy.port).render_as_string(False)


async def _requests(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(TopUpRequest)) or 0)


async def _answer(fake_api: FakeBotAPI, user: User, event: Event, data: str) -> dict[str, Any]:
    return await fake_api.answer(await fake_api.tap(user, event, data), within=30)


async def test_requests_during_a_postgres_outage_are_refused_cleanly_and_the_bot_recovers(
    fake_api: FakeBotAPI, direct: Database, proxy: TcpProxy, postgres_schema: str
) -> None:
    await make_reseller(direct, 1001, name="Alice", credit=1_000)
    await setup_topups(direct)
    url = _through(proxy)
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_bot_token=SecretStr(fake_api.token),
        telegram_api_base_url=fake_api.url,
        database_url=url,
        database_schema=postgres_schema,
        admin_ids=frozenset({ADMIN_ID}),
        admin_chat_id=ADMIN_CHAT_ID,
        currency="credits",
        timezone="UTC",
        jobs_enabled=False,
    )
    alice = fake_api.user(1001, "Alice")
    async with running_bot(settings, Database.from_url(url, schema=postgres_schema)):
        await fake_api.send(alice, "/topup")
        await fake_api.next_event(alice.id)
        await fake_api.send(alice, "100")
        priced = await fake_api.next_event(alice.id)
        await _answer(fake_api, alice, priced, priced.button("Bank"))
        await fake_api.next_event(alice.id)
        await fake_api.send(alice, "TX-12345")
        summary = await fake_api.next_event(alice.id)
        confirm = summary.key("✅ Confirm")

        await proxy.cut()
        # The tap is answered at once, with the reason: not even the user's lock (the
        # instances' turn, bot/user_guard.py) can be taken.
        answered = await _answer(fake_api, alice, summary, confirm)
        assert answered["text"] == TRY_LATER and answered["show_alert"]
        await fake_api.send(alice, "/balance")
        assert (await fake_api.next_event(alice.id, within=30)).text == TRY_LATER
        assert await _requests(direct) == 0  # nothing half-written
        await assert_audit_ok(direct)

        await proxy.restore()  # no restart: the pool replaces its dead connections
        await _answer(fake_api, alice, summary, confirm)
        assert "request #1 sent" in (await fake_api.next_event(alice.id, within=30)).text
        await fake_api.send(alice, "/balance")
        assert "10.00 credits" in (await fake_api.next_event(alice.id)).text
    assert await _requests(direct) == 1
    await assert_audit_ok(direct)
