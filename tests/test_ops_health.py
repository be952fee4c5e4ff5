"""/healthz, /readyz and /metrics through a real HTTP client, in polling and webhook mode."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import func, select

from bot.app import build_application
from bot.context import BotApplication
from bot.db import Database
from bot.health import HealthServer
from bot.services import outbox, panels, plans
from bot.settings import Settings
from models import Customer, OutboxMessage
from models.notification import OutboxStatus
from tests.conftest import running_bot
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller
from tests.panels.fake_marzban import ADMIN, PASSWORD, MarzbanHarness
from tests.test_jobs import drain
from tests.test_ops_webhook import webhook_bot, webhook_settings

KEY = Fernet.generate_key().decode()
UNREACHABLE = "postgresql+asyncpg://nobody@127.0.0.1:1/nowhere"


def with_health(settings: Settings, **extra: Any) -> Settings:
    return settings.model_copy(update={"health_port": 0, "health_listen": "127.0.0.1", **extra})


@asynccontextmanager
async def polling_bot(settings: Settings, db: Database) -> AsyncIterator[BotApplication]:
    async with running_bot(settings, db) as app:
        try:
            yield app
        finally:
            assert app.post_shutdown is not None
            await app.post_shutdown(app)  # run_polling calls it; running_bot does not


def base_url(app: BotApplication) -> str:
    health = app.bot_data["health"]
    assert isinstance(health, HealthServer)
    return f"http://127.0.0.1:{health.port}"


async def scrape(client: httpx.AsyncClient, url: str) -> dict[tuple[str, frozenset[Any]], float]:
    answer = await client.get(f"{url}/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset[Any]], float] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[tuple[str, frozenset[Any]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def moved(
    client: httpx.AsyncClient, url: str, name: str, before: float, **labels: str
) -> dict[tuple[str, frozenset[Any]], float]:
    """Scrape until the sample is above ``before`` (it is counted once the update ends)."""
    for _ in range(50):
        samples = await scrape(client, url)
        if value(samples, name, **labels) > before:
            return samples
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name}{labels} stayed at {before}")


async def counted_handler(
    client: httpx.AsyncClient, url: str, before: dict[tuple[str, frozenset[Any]], float]
) -> tuple[str, dict[tuple[str, frozenset[Any]], float]]:
    """The one handler whose update count grew since ``before`` (the metrics are the whole
    process's, so other tests' handlers are there too), and the samples that show it."""
    grown: set[str] = set()
    after = before
    for _ in range(50):
        after = await scrape(client, url)
        grown = {
            dict(labels)["handler"]
            for (n, labels), v in after.items()
            if n == "bot_updates_total" and v > before.get((n, labels), 0.0)
        }
        if grown:
            break
        await asyncio.sleep(0.1)
    assert len(grown) == 1, grown
    return grown.pop(), after


async def test_every_endpoint_answers_in_polling_mode_and_the_update_counter_moves(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    await make_reseller(db, 1001, name="Alice")
    alice = fake_api.user(1001, "Alice")
    async with polling_bot(with_health(settings), db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        healthz = await client.get(f"{url}/healthz")
        assert healthz.status_code == 200 and healthz.json() == {"status": "ok"}
        readyz = await client.get(f"{url}/readyz")
        assert readyz.status_code == 200
        assert readyz.json() == {
            "ready": True,
            "checks": {"database": "ok", "migrations": "ok", "bot_api": "ok"},
        }
        before = await scrape(client, url)
        await fake_api.send(alice, "/start")
        await fake_api.next_event(alice.id)
        handler, after = await counted_handler(client, url, before)
        assert handler.endswith(".start") and handler.startswith("handlers.")
        assert value(after, "bot_update_seconds_count", handler=handler) > value(
            before, "bot_update_seconds_count", handler=handler
        )


async def test_a_sale_moves_the_sales_counter_by_panel(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    await make_reseller(db, 1001, name="Alice", credit=5_000)
    await plans.add_plan(db, code="iptv-1m", name="IPTV 1 month", days=30, price=1_050)
    alice = fake_api.user(1001, "Alice")
    async with polling_bot(with_health(settings), db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        before = value(
            await scrape(client, url), "bot_sales_total", panel="local", outcome="completed"
        )
        await fake_api.send(alice, "/activate")
        await fake_api.next_event(alice.id)
        await fake_api.send(alice, "john.doe")
        picker = await fake_api.next_event(alice.id)
        await fake_api.answer(await fake_api.tap(alice, picker, picker.button("1 month")))
        confirm = await fake_api.next_event(alice.id)
        await fake_api.answer(await fake_api.tap(alice, confirm, confirm.button("Confirm")))
        done = await fake_api.next_event(alice.id)
        assert "john.doe activated" in done.text
        after = await moved(
            client, url, "bot_sales_total", before, panel="local", outcome="completed"
        )
        assert value(after, "bot_sales_total", panel="local", outcome="completed") == before + 1
        assert value(after, "bot_sale_seconds_count", panel="local") >= 1


async def test_metrics_show_the_outbox_backlog_and_the_ledger_audit(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    await make_reseller(db, 1001, name="Alice", credit=1_000)
    now = dt.datetime.now(dt.UTC)
    async with db.transaction() as session:
        await outbox.enqueue(
            session,
            [outbox.Outgoing(f"k{i}", 1001, "low_balance", {}) for i in range(3)],
            now,
        )
    async with polling_bot(with_health(settings), db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        health = app.bot_data["health"]
        assert isinstance(health, HealthServer)
        samples = await scrape(client, url)
        async with db.transaction() as session:
            pending = await session.scalar(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == OutboxStatus.PENDING)
            )
        assert pending == 3
        assert value(samples, "bot_outbox_backlog") == 3
        await health.probes.audit_done()  # the first scrape started one in the background
        samples = await scrape(client, url)
        assert value(samples, "bot_ledger_audit_ok") == 1
        assert value(samples, "bot_ledger_audit_problems") == 0
        assert value(samples, "bot_ledger_audit_timestamp_seconds") > 0


async def test_readyz_turns_503_and_says_which_check_failed(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    settings = with_health(settings, readiness_bot_api_cache_seconds=0)
    async with polling_bot(settings, db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        health = app.bot_data["health"]
        assert isinstance(health, HealthServer)
        unreachable = Database.from_url(UNREACHABLE)
        health.probes.db = unreachable
        try:
            answer = await client.get(f"{url}/readyz", timeout=30)
        finally:
            health.probes.db = db
            await unreachable.dispose()
        assert answer.status_code == 503
        body = answer.json()
        assert body["ready"] is False
        assert body["checks"]["database"].startswith("failed")
        assert body["checks"]["migrations"].startswith("failed")
        assert body["checks"]["bot_api"] == "ok"
        assert "nobody" not in answer.text  # no connection URL in the body
        fake_api.fail("getMe", 500, "Internal Server Error")
        answer = await client.get(f"{url}/readyz")
        assert answer.status_code == 503
        assert answer.json()["checks"]["database"] == "ok"
        assert answer.json()["checks"]["bot_api"].startswith("failed")
        # /healthz only says the process is up.
        assert (await client.get(f"{url}/healthz")).status_code == 200
        assert (await client.get(f"{url}/readyz")).status_code == 200


async def test_readyz_says_when_the_schema_is_not_at_the_newest_migration(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    from sqlalchemy import text

    async with polling_bot(with_health(settings), db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        async with db.transaction() as session:
            head = await session.scalar(text("SELECT version_num FROM alembic_version"))
            await session.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        try:
            answer = await client.get(f"{url}/readyz")
        finally:
            async with db.transaction() as session:
                await session.execute(
                    text("UPDATE alembic_version SET version_num = :head"), {"head": head}
                )
        assert answer.status_code == 503
        assert answer.json()["checks"]["migrations"] == f"at older, head is {head}"


async def test_every_endpoint_answers_in_webhook_mode_and_updates_are_counted(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    await make_reseller(db, 1001, name="Alice")
    alice = fake_api.user(1001, "Alice")
    settings = with_health(webhook_settings(settings))
    async with webhook_bot(settings, db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        assert (await client.get(f"{url}/healthz")).status_code == 200
        readyz = await client.get(f"{url}/readyz")
        assert readyz.status_code == 200 and readyz.json()["ready"] is True
        before = await scrape(client, url)
        await fake_api.send(alice, "/start")
        await fake_api.next_event(alice.id)
        handler, _ = await counted_handler(client, url, before)
        assert handler.endswith(".start") and handler.startswith("handlers.")
        # The webhook's own port serves only the webhook.
        webhook = f"http://127.0.0.1:{settings.webhook_port}"
        assert (await client.get(f"{webhook}/healthz")).status_code == 404


async def test_a_job_run_is_counted_and_timed_under_its_name(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    app = build_application(settings.model_copy(update={"jobs_enabled": True}), db)
    labels = {"job": "alerts", "outcome": "ok"}
    before = REGISTRY.get_sample_value("bot_job_runs_total", labels) or 0.0
    await app.initialize()
    leadership = app.bot_data["leadership"]
    await leadership.start()  # alone, it runs the jobs (on PostgreSQL, once elected)
    try:
        assert app.job_queue is not None
        (job,) = app.job_queue.get_jobs_by_name("alerts")
        await job.run(app)
    finally:
        await leadership.stop()
        await app.shutdown()
    assert REGISTRY.get_sample_value("bot_job_runs_total", labels) == before + 1
    assert (REGISTRY.get_sample_value("bot_job_seconds_count", {"job": "alerts"}) or 0) >= 1


@pytest.mark.parametrize("enabled", [False])
async def test_metrics_can_be_turned_off(
    fake_api: FakeBotAPI, db: Database, settings: Settings, enabled: bool
) -> None:
    settings = with_health(settings, metrics_enabled=enabled)
    async with polling_bot(settings, db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        assert (await client.get(f"{url}/metrics")).status_code == 404
        assert (await client.get(f"{url}/healthz")).status_code == 200


async def test_sales_and_calls_on_a_panel_are_counted_by_panel_with_its_errors(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    harness = MarzbanHarness("marzban")
    await harness.fake.start()
    try:
        await panels.add_panel(
            db, panels.SecretBox(KEY), name="de-1", kind="marzban", base_url=harness.fake.url,
            credentials={"username": ADMIN, "password": PASSWORD},
        )  # fmt: skip
        await plans.add_plan(
            db, code="vpn-1m", name="VPN 1 month", days=30, price=1_000, panel="de-1",
            template=harness.template(),
        )  # fmt: skip
        await make_reseller(db, 1001, name="Alice", credit=5_000)
        alice = fake_api.user(1001, "Alice")
        configured = with_health(settings, secret_key=SecretStr(KEY))
        async with polling_bot(configured, db) as app, httpx.AsyncClient() as client:
            url = base_url(app)
            before = await scrape(client, url)

            async def sell(username: str) -> str:
                await fake_api.send(alice, "/activate")
                await fake_api.next_event(alice.id)
                await fake_api.send(alice, username)
                picker = await fake_api.next_event(alice.id)
                await fake_api.answer(
                    await fake_api.tap(alice, picker, picker.button("VPN 1 month"))
                )
                confirm = await fake_api.next_event(alice.id)
                await fake_api.answer(await fake_api.tap(alice, confirm, confirm.button("Confirm")))
                return (await fake_api.next_event(alice.id)).text

            assert "john activated" in await sell("john")
            assert (await fake_api.next_event(alice.id)).method == "sendPhoto"  # its QR code
            harness.fail_next(500)  # the create (logged in already): answered, refused
            assert "HTTP 500" in await sell("mary")
            after = await moved(
                client,
                url,
                "bot_sales_total",
                value(before, "bot_sales_total", panel="de-1", outcome="SaleFailed"),
                panel="de-1",
                outcome="SaleFailed",
            )
        for name, labels in (
            ("bot_sales_total", {"panel": "de-1", "outcome": "completed"}),
            ("bot_sales_total", {"panel": "de-1", "outcome": "SaleFailed"}),
            ("bot_panel_errors_total", {"panel": "de-1", "kind": "unavailable"}),  # a 5xx
        ):
            assert value(after, name, **labels) == value(before, name, **labels) + 1, name
        calls = value(after, "bot_panel_call_seconds_count", panel="de-1")
        assert calls >= value(before, "bot_panel_call_seconds_count", panel="de-1") + 2
        async with db.transaction() as session:
            assert await session.scalar(select(func.count()).select_from(Customer)) == 1
    finally:
        await harness.fake.stop()


async def test_the_outbox_send_count_backlog_and_telegram_429s_move_when_the_sender_runs(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    await make_reseller(db, 1001, name="Alice", credit=1_000)
    fake_api.user(1001, "Alice")
    now = dt.datetime.now(dt.UTC)
    payload = {"available": 1_000, "threshold": 5_000}
    async with db.transaction() as session:
        await outbox.enqueue(
            session, [outbox.Outgoing(f"low{i}", 1001, "low_balance", payload) for i in (1, 2)], now
        )
    fake_api.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    async with polling_bot(with_health(settings), db) as app, httpx.AsyncClient() as client:
        url = base_url(app)
        before = await scrape(client, url)
        assert value(before, "bot_outbox_backlog") == 2
        assert await drain(app, db, settings, now) == 2
        after = await scrape(client, url)
    assert len([e for e in fake_api.events(1001) if "below your alert threshold" in e.text]) == 2
    assert value(after, "bot_outbox_backlog") == 0
    assert value(after, "bot_outbox_sent_total") == value(before, "bot_outbox_sent_total") + 2
    assert value(after, "bot_telegram_429_total") == value(before, "bot_telegram_429_total") + 1
