"""The application factory and the bot's entry point."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import cast

import httpx
from telegram import Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import Application, Defaults

import handlers
import jobs
from bot import i18n, metrics, shutdown, user_guard
from bot.context import CONTEXT_TYPES, BotApplication, BotContext
from bot.db import Database, upgrade_schema
from bot.draft_codec import DraftCodec
from bot.errors import on_error
from bot.instance import AlreadyRunning, sole_instance
from bot.leader import Leadership
from bot.logs import REDACTED, configure_logging, redact
from bot.persistence import DatabasePersistence, write_through
from bot.ratelimit import TelegramBudget
from bot.services.panel_provider import Panels
from bot.services.panels import PanelConfigError, SecretBox, secrets_of
from bot.services.provisioning import Provider, provider_named
from bot.settings import Settings
from bot.telegram_http import TelegramTransport
from bot.updates import PerUserUpdateProcessor
from bot.webhook import install_refusal_log, webhook_options
from handlers.home.commands import publish_commands

log = logging.getLogger(__name__)


class MissingToken(RuntimeError):
    pass


def build_application(
    settings: Settings, db: Database, provider: Provider | None = None
) -> BotApplication:
    """Build the bot: one builder chain, handlers, error handler, start-up and shut-down."""
    if settings.telegram_bot_token is None:
        raise MissingToken("TELEGRAM_BOT_TOKEN is not set")
    # PTB's two clients (updates, everything else) on a leaner transport than PTB's own
    # (bot/telegram_http.py), and one TLS context: each would load its own copy of the CA
    # bundle, about 0.8 MB.
    tls = httpx.create_ssl_context()
    builder = (
        Application.builder()
        .token(settings.telegram_bot_token.get_secret_value())
        .request(TelegramTransport(ssl_context=tls))
        .get_updates_request(TelegramTransport(1, ssl_context=tls))
        .context_types(CONTEXT_TYPES)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.zone))
        .rate_limiter(
            # Evenly spaced rather than in bursts: Telegram counts over any second.
            # Replies book slots; the outbox sender takes only the slots left free.
            TelegramBudget(
                settings.telegram_messages_per_second,
                paid_broadcast=settings.telegram_paid_broadcast,
                max_retries=3,
            )
        )
        # Different users at once, one user's updates in order: this keeps the
        # conversations' per-user state safe (see bot/updates.py).
        .concurrent_updates(PerUserUpdateProcessor(settings.max_concurrent_updates))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
        # Conversation steps and drafts, so a restart mid-flow continues it.
        .persistence(DatabasePersistence(db, DraftCodec(handlers.flow.draft_types())))
    )
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    app = cast(BotApplication, builder.build())
    app.bot_data["settings"] = settings
    app.bot_data["db"] = db
    app.bot_data["i18n"] = i18n.load(settings.locale_overrides_dir)
    app.bot_data["provider"] = provider or provider_named(settings.provisioning_provider)
    app.bot_data["panels"] = Panels(
        db,
        SecretBox(settings.secret_key.get_secret_value() if settings.secret_key else None),
        failures_to_open=settings.panel_failures_to_open,
        probe_after_seconds=settings.panel_probe_after_seconds,
    )
    handlers.register(app)
    write_through(app)
    user_guard.install(app)  # PostgreSQL: one user's updates in turn across instances
    jobs.register(app)
    app.add_error_handler(on_error)
    metrics.instrument_handlers(app)
    return app


async def _post_init(app: BotApplication) -> None:
    db = cast(Database, app.bot_data["db"])
    await upgrade_schema(db.engine)
    handlers.flow.resume_timeouts(app)
    panels = cast(Panels, app.bot_data["panels"])
    try:
        redact(await secrets_of(db, panels.box))
    except PanelConfigError as exc:  # sales on panels will say so; the bot still serves
        log.error("panel credentials cannot be read: %s", exc)
    await publish_commands(app)
    grace = cast("float | None", app.bot_data.get("shutdown_grace_seconds"))
    if grace is not None:  # python -m bot, not an application driven by tests
        shutdown.install(app, grace)
    leadership = cast("Leadership | None", app.bot_data.get("leadership"))
    if leadership is not None:  # the first try is made here: a lone instance leads at once
        await leadership.start()
    settings = cast(Settings, app.bot_data["settings"])
    if settings.health_port is not None:
        from bot.health import HealthServer  # only when asked for

        health = app.bot_data["health"] = HealthServer(app, settings, db)
        health.start()
    log.info("bot @%s started", app.bot.username)


async def _post_stop(app: BotApplication) -> None:
    leadership = cast("Leadership | None", app.bot_data.get("leadership"))
    if leadership is not None:  # the jobs have stopped: a standby may take over now
        await leadership.stop()


async def _post_shutdown(app: BotApplication) -> None:
    await _post_stop(app)  # an application stopped without run_polling's post_stop
    health = app.bot_data.pop("health", None)
    if health is not None:
        await health.stop()
    await cast(Panels, app.bot_data["panels"]).aclose()
    await cast(Database, app.bot_data["db"]).dispose()


def run_bot(settings: Settings) -> int:
    """``python -m bot``: poll for updates, or serve the webhook, until stopped.

    Returns the exit code."""
    if settings.telegram_bot_token is None:
        print(
            "error: TELEGRAM_BOT_TOKEN is not set. Put it in .env (see .env.example) "
            "or in the environment.",
            file=sys.stderr,
        )
        return 2
    token = settings.telegram_bot_token.get_secret_value()
    key = settings.secret_key.get_secret_value() if settings.secret_key else ""
    hook = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    configure_logging(settings.log_level, [token, key, hook])
    try:
        with sole_instance(settings.database_url):
            return _run(settings, token)
    except AlreadyRunning as exc:
        print(
            f"error: another bot is already running on this SQLite database ({exc.lock} is "
            "locked). With SQLite one instance runs at a time; use PostgreSQL to run several.",
            file=sys.stderr,
        )
        return 1


def install_event_loop() -> None:
    """uvloop's event loop where it is installed (it is on Linux and macOS): the same
    asyncio, with much less CPU spent on each update's sockets and callbacks
    (``tests/bench_replies.py``). PTB runs on the loop set here."""
    try:
        import uvloop
    except ImportError:  # Windows: asyncio's own loop
        return
    asyncio.set_event_loop(uvloop.new_event_loop())


def _run(settings: Settings, token: str) -> int:
    install_event_loop()
    db = Database.from_url(settings.database_url, schema=settings.database_schema)
    app = build_application(settings, db)
    app.bot_data["shutdown_grace_seconds"] = settings.shutdown_grace_seconds
    try:
        if settings.bot_mode == "webhook":
            install_refusal_log(settings.log_level)
            app.run_webhook(**webhook_options(settings))
        else:
            app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        print(
            "error: Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather.",
            file=sys.stderr,
        )
        return 1
    except NetworkError as exc:
        reason = str(exc).replace(token, REDACTED)
        print(f"error: cannot reach the Bot API: {reason}", file=sys.stderr)
        return 1
    return 0


__all__ = ["BotContext", "build_application", "run_bot"]
