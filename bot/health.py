"""``/healthz``, ``/readyz`` and ``/metrics`` on a small HTTP server of their own.

Its own port (``HEALTH_PORT``) in both modes: PTB's webhook server builds its list of
routes inside ``Updater.start_webhook`` and offers no way to add one, so the probes do
not share the webhook's port; that also keeps them off the public reverse proxy.

- ``/healthz``: 200 while the process runs its event loop.
- ``/readyz``: 200 when the database answers ``SELECT 1``, the Bot API answers
  ``getMe`` (asked at most every ``READINESS_BOT_API_CACHE_SECONDS``, the answer reused
  meanwhile) and the schema is at the newest migration; else 503. Both carry a JSON
  body naming each check and its result.
- ``/metrics``: Prometheus' text format (``METRICS_ENABLED``). Each scrape first counts
  the outbox backlog; at most once an hour it also starts a ledger audit in the
  background (the same check as ``python -m bot audit``), whose result the next scrapes
  show. The audit reads every ledger entry, so it is never run on the scrape itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import tornado.web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import func, select, text
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot import metrics
from bot.db import Database, alembic_config, head_revisions
from bot.services import wallet
from bot.settings import Settings
from models import OutboxMessage
from models.notification import OutboxStatus

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 5.0
AUDIT_EVERY_SECONDS = 3600.0
OK = "ok"


class Probes:
    """The checks behind the endpoints, with what they remember between requests."""

    def __init__(self, app: Any, settings: Settings, db: Database) -> None:
        self.app, self.settings, self.db = app, settings, db
        self._bot_api: tuple[float, str] | None = None  # (when asked, result)
        self._audit_started = -AUDIT_EVERY_SECONDS
        self._audit: asyncio.Task[None] | None = None
        self._heads = set(head_revisions() or _alembic_heads())

    async def database(self) -> str:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with self.db.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return OK

    async def migrations(self) -> str:
        # Read directly rather than through Alembic's MigrationContext, which logs two
        # INFO lines at every probe.
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
            async with self.db.engine.connect() as conn:
                rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
                current = {row[0] for row in rows}
        if current == self._heads:
            return OK
        have = ",".join(sorted(current)) or "none"
        return f"at {have}, head is {','.join(sorted(self._heads))}"

    async def bot_api(self) -> str:
        now = time.monotonic()
        cached = self._bot_api
        if cached is not None and now - cached[0] < self.settings.readiness_bot_api_cache_seconds:
            return cached[1]
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                await self.app.bot.get_me()
            result = OK
        except Exception as exc:  # any failure means not ready; the reason is shown
            result = _failure(exc)
        self._bot_api = (now, result)
        return result

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        for name, check in (
            ("database", self.database),
            ("migrations", self.migrations),
            ("bot_api", self.bot_api),
        ):
            try:
                checks[name] = await check()
            except Exception as exc:  # reported in the body, not raised
                checks[name] = _failure(exc)
        return checks

    async def refresh_metrics(self) -> None:
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_SECONDS):
                async with self.db.engine.connect() as conn:
                    backlog = await conn.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.status == OutboxStatus.PENDING)
                    )
            metrics.OUTBOX_BACKLOG.set(backlog or 0)
        except Exception as exc:  # the other metrics are still worth serving
            log.warning("metrics: cannot count the outbox backlog: %s", _failure(exc))
        now = time.monotonic()
        if now - self._audit_started >= AUDIT_EVERY_SECONDS and (
            self._audit is None or self._audit.done()
        ):
            self._audit_started = now
            self._audit = asyncio.create_task(self._run_audit(), name="metrics-audit")

    async def _run_audit(self) -> None:
        try:
            report = await wallet.audit(self.db)
        except Exception as exc:
            log.warning("metrics: the ledger audit could not run: %s", _failure(exc))
            return
        metrics.audited(report.ok, len(report.problems))
        if not report.ok:
            log.error("ledger audit found %s problems", len(report.problems))

    async def audit_done(self) -> None:
        """Wait for an audit under way (tests, shutdown)."""
        if self._audit is not None:
            await asyncio.gather(self._audit, return_exceptions=True)


def _alembic_heads() -> list[str]:
    # Only if a version file does not read as expected: Alembic costs about 12 MB.
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def _failure(exc: BaseException) -> str:
    # The class and a short reason; never a URL with credentials in it.
    reason = str(exc).split("\n", 1)[0][:200]
    if "://" in reason:
        reason = ""
    return f"failed: {type(exc).__name__}" + (f": {reason}" if reason else "")


class _Healthz(tornado.web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": OK}))


class _Readyz(tornado.web.RequestHandler):
    def initialize(self, probes: Probes) -> None:
        self.probes = probes

    async def get(self) -> None:
        checks = await self.probes.readiness()
        ready = all(result == OK for result in checks.values())
        self.set_status(200 if ready else 503)
        self.set_header("Content-Type", "application/json")
        body: dict[str, object] = {"ready": ready, "checks": checks}
        leadership = self.probes.app.bot_data.get("leadership")
        if leadership is not None:  # not a check: a standby is as ready as the leader
            body["jobs"] = leadership.role
        self.finish(json.dumps(body))


class _Metrics(tornado.web.RequestHandler):
    def initialize(self, probes: Probes) -> None:
        self.probes = probes

    async def get(self) -> None:
        await self.probes.refresh_metrics()
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest(REGISTRY))


class _Quiet(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        """Probes come every few seconds: not worth a line each."""


class HealthServer:
    """The probes' HTTP server; ``port`` is the one bound (useful with port 0)."""

    def __init__(self, app: Any, settings: Settings, db: Database) -> None:
        self.probes = Probes(app, settings, db)
        routes: list[Any] = [
            (r"/healthz", _Healthz),
            (r"/readyz", _Readyz, {"probes": self.probes}),
        ]
        if settings.metrics_enabled:
            routes.append((r"/metrics", _Metrics, {"probes": self.probes}))
        self._server = HTTPServer(_Quiet(routes))
        self._listen = settings.health_listen
        self._port = settings.health_port or 0
        self.port = 0

    def start(self) -> None:
        sockets = bind_sockets(self._port, self._listen)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("health server on %s:%s", self._listen, self.port)

    async def stop(self) -> None:
        self._server.stop()
        await self._server.close_all_connections()
        await self.probes.audit_done()
