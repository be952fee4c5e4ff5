"""Webhook mode: the real application behind PTB's webhook server, fed by the fake Bot API."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError
from sqlalchemy import func, select

from bot.app import build_application
from bot.context import BotApplication
from bot.db import Database
from bot.settings import Settings
from bot.webhook import PTB_WEBHOOK_LOGGER, install_refusal_log, webhook_options
from models import Reseller
from tests.fake_bot_api import FakeBotAPI
from tests.helpers import make_reseller

SECRET = "s3cret-Token_for-tests"
RESELLER_MENU = ["💰 Balance", "➕ Top up", "👤 New customer"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_settings(settings: Settings, **extra: Any) -> Settings:
    values = settings.model_dump()
    values.update(
        bot_mode="webhook",
        webhook_listen="127.0.0.1",
        webhook_port=free_port(),
        webhook_url="http://127.0.0.1",  # the fake Telegram posts to it directly
        webhook_path="/telegram",
        webhook_secret=SecretStr(SECRET),
        **extra,
    )
    values["webhook_url"] = f"http://127.0.0.1:{values['webhook_port']}"
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def webhook_bot(settings: Settings, db: Database) -> AsyncIterator[BotApplication]:
    """The real application in webhook mode, started as ``run_webhook`` starts it."""
    app = build_application(settings, db)
    ptb_logger = logging.getLogger(PTB_WEBHOOK_LOGGER)
    level = ptb_logger.level
    refusal = install_refusal_log(logging.INFO)
    await app.initialize()
    assert app.post_init is not None and app.post_shutdown is not None
    await app.post_init(app)
    assert app.updater is not None
    await app.updater.start_webhook(**webhook_options(settings))
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)
        ptb_logger.removeFilter(refusal)
        ptb_logger.setLevel(level)


def update_from(user_id: int, text: str, update_id: int = 10_000) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Mallory"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Mallory"},
            "from": user,
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def test_webhook_mode_registers_the_webhook_with_its_secret_and_keeps_pending_updates(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    settings = webhook_settings(settings)
    async with webhook_bot(settings, db):
        assert fake_api.webhook is not None
        assert fake_api.webhook["url"] == f"http://127.0.0.1:{settings.webhook_port}/telegram"
        assert fake_api.webhook["secret_token"] == SECRET
        assert fake_api.webhook.get("drop_pending_updates") in (None, False, "false")


async def test_a_resellers_start_through_the_webhook_gets_the_reseller_menu(
    fake_api: FakeBotAPI, db: Database, settings: Settings
) -> None:
    await make_reseller(db, 1001, name="Alice")
    async with webhook_bot(webhook_settings(settings), db):
        alice = fake_api.user(1001, "Alice")
        await fake_api.send(alice, "/start")  # posted to the webhook with the secret
        reply = await fake_api.next_event(alice.id)
    assert fake_api.webhook_answers == [200]
    assert "Alice" in reply.text
    assert [label for label, _ in reply.buttons][:3] == RESELLER_MENU
    # Nothing went through getUpdates: the webhook delivered it.
    assert not [m for m, _ in fake_api.requests if m == "getUpdates"]


@pytest.mark.parametrize("secret", [None, "wrong-secret", SECRET + "x"])
async def test_a_request_without_the_right_secret_is_refused_403_and_changes_nothing(
    fake_api: FakeBotAPI,
    db: Database,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
    secret: str | None,
) -> None:
    await make_reseller(db, 1001, name="Alice")
    settings = webhook_settings(settings)
    url = f"http://127.0.0.1:{settings.webhook_port}/telegram"
    body = json.dumps(update_from(1001, "/start"))
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    alice = fake_api.user(1001, "Alice")
    async with webhook_bot(settings, db):
        sent_before = len(fake_api.requests)
        with caplog.at_level(logging.INFO):
            async with httpx.AsyncClient() as client:
                answer = await client.post(url, content=body, headers=headers)
            await asyncio.sleep(0.5)  # time for a wrongly accepted update to be answered
        assert answer.status_code == 403
        assert fake_api.unread(1001) == []
        assert [m for m, _ in fake_api.requests[sent_before:] if m.startswith("send")] == []
        # The bot still serves Telegram's own requests afterwards.
        await fake_api.send(alice, "/start")
        assert "Alice" in (await fake_api.next_event(alice.id)).text
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Reseller)) == 1
    refused = [r for r in caplog.records if "refused (403)" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelno == logging.WARNING
    assert "127.0.0.1" in refused[0].getMessage()
    logged = caplog.text
    assert "/start" not in logged and "Mallory" not in logged  # never the body
    if secret is not None:
        assert secret not in logged  # nor the token presented
    assert SECRET not in logged


def test_webhook_mode_without_url_or_secret_refuses_to_start_with_a_clear_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def load() -> Settings:
        return Settings(_env_file=None)  # type: ignore[call-arg]

    monkeypatch.setenv("BOT_MODE", "webhook")
    with pytest.raises(
        ValidationError, match="BOT_MODE=webhook needs WEBHOOK_URL and WEBHOOK_SECRET"
    ):
        load()
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/")
    with pytest.raises(ValidationError, match="needs WEBHOOK_SECRET"):
        load()
    monkeypatch.setenv("WEBHOOK_SECRET", "has spaces in it")
    with pytest.raises(ValidationError, match="letters, digits"):
        load()
    monkeypatch.setenv("WEBHOOK_SECRET", "abc_DEF-123")
    monkeypatch.setenv("WEBHOOK_PATH", "hook")
    made = load()
    assert made.webhook_full_url == "https://bot.example.com/hook"
    assert "abc_DEF-123" not in repr(made)
    monkeypatch.setenv("HEALTH_PORT", str(made.webhook_port))
    with pytest.raises(ValidationError, match="HEALTH_PORT must differ from WEBHOOK_PORT"):
        load()
