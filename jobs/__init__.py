"""Scheduled jobs on PTB's JobQueue: they call services and hand messages to the notifier.

Every job also runs shortly after start-up, to catch up after downtime; what they did is
in the database, so a restart neither repeats nor loses anything.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import cast

from bot import metrics
from bot.context import BotApplication, BotContext
from bot.db import Database
from bot.services import (
    alerts,
    announcements,
    customer_expiry,
    panel_sync,
    pauses,
    reconcile,
    sale_settlement,
)
from bot.services.panel_provider import Panels
from bot.services.provisioning import Provider
from bot.settings import Settings
from jobs import backups, broadcast, leading, notifier, reports, stars

Clock = Callable[[], dt.datetime]
log = logging.getLogger(__name__)


def _clock(context: BotContext) -> dt.datetime:
    clock = context.bot_data.get("clock")
    return cast(Clock, clock)() if clock else dt.datetime.now(dt.UTC)


def alert_settings(settings: Settings) -> alerts.Settings:
    return alerts.Settings(
        zone=settings.zone,
        reminder_offsets_days=settings.reminder_offsets_days,
        digest_time=settings.digest_time,
        topup_remind_after=dt.timedelta(hours=settings.topup_remind_after_hours),
        topup_expire_after=dt.timedelta(days=settings.topup_expire_after_days),
        admin_chat_id=settings.admin_chat_id,
    )


async def run_alerts(db: Database, settings: Settings, now: dt.datetime) -> int:
    """Balances and debts, customer and credit expiry, stale top-ups, stuck sales."""
    await customer_expiry.expire_customers(db, now)
    queued = await alerts.scan_balances(db, now)
    queued += len(await alerts.expire_grants(db, now))
    queued += await alerts.stale_topups(db, now, alert_settings(settings))
    stuck_after = dt.timedelta(seconds=2 * settings.provisioning_timeout_seconds + 60)
    abandoned = await sale_settlement.abandon_stale_orders(db, now=now, older_than=stuck_after)
    if abandoned:
        log.warning("released the credit of %s sales stuck while provisioning", abandoned)
    return queued


async def run_reminders(db: Database, settings: Settings, now: dt.datetime) -> int:
    """Expiry reminders to customers and the resellers' daily digest."""
    queued = await customer_expiry.queue_expiry_reminders(db, now, alert_settings(settings))
    queued += await customer_expiry.queue_digests(db, now, alert_settings(settings))
    return queued


async def run_reconciliation(
    db: Database, panels: Panels, settings: Settings, now: dt.datetime
) -> reconcile.Reconciled:
    """Panel sales left in flight: ask each panel, then charge or release (and tell)."""
    grace = 2 * settings.provisioning_timeout_seconds + settings.reconcile_grace_seconds
    done = await reconcile.reconcile_orders(
        db, panels, now=now, older_than=dt.timedelta(seconds=grace),
        ask_seconds=settings.provisioning_timeout_seconds,
    )  # fmt: skip
    if done.completed or done.voided or done.unknown:
        log.warning(
            "reconciliation: %s sales charged, %s released, %s still unknown",
            done.completed, done.voided, done.unknown,
        )  # fmt: skip
    return done


async def run_panel_check(
    db: Database, panels: Panels, settings: Settings, now: dt.datetime
) -> int:
    """Each enabled panel against the customers here: differences to the admin group."""
    reports = await panel_sync.compare(db, panels, now=now)
    if settings.admin_chat_id is None and any(not r.clean for r in reports):
        log.warning("panel check found differences, but ADMIN_CHAT_ID is not set")
    return await panel_sync.queue_reports(
        db, reports, chat_id=settings.admin_chat_id, now=now,
        day=now.astimezone(settings.zone).date(),
    )  # fmt: skip


async def run_pause_ends(
    db: Database, panels: Panels | None, settings: Settings, now: dt.datetime
) -> pauses.ResumeSweep:
    """Paused subscriptions whose pause is over: resumed, on their panels too."""
    done = await pauses.resume_due(
        db, panels, now=now, seconds=settings.provisioning_timeout_seconds
    )
    if done.failed:
        log.warning("%s paused subscriptions could not be resumed yet", done.failed)
    return done


async def pause_ends_job(context: BotContext) -> None:
    panels = cast(Panels | None, context.bot_data.get("panels"))
    await run_pause_ends(context.db, panels, context.settings, _clock(context))


async def panel_check_job(context: BotContext) -> None:
    panels = cast(Panels, context.bot_data["panels"])
    await run_panel_check(context.db, panels, context.settings, _clock(context))


async def reconcile_job(context: BotContext) -> None:
    """Sales left in flight; then customers' Stars renewals whose sale was released."""
    panels = cast(Panels, context.bot_data["panels"])
    await run_reconciliation(context.db, panels, context.settings, _clock(context))
    await stars.refund_released_renewals(
        context.db, context.bot, admin_chat_id=context.settings.admin_chat_id,
        now=_clock(context),
    )  # fmt: skip


async def stars_job(context: BotContext) -> None:
    await stars.run_star_reconciliation(
        context.db, context.bot, admin_chat_id=context.settings.admin_chat_id,
        now=_clock(context),
    )  # fmt: skip


async def stranded_payments_job(context: BotContext) -> None:
    """Customers' Stars payments that no sale or refund followed, and refunds whose
    Telegram answer was never recorded (a crash between)."""
    await stars.complete_stranded_payments(
        context.db, context.bot, cast(Provider, context.bot_data["provider"]),
        cast(Panels | None, context.bot_data.get("panels")), context.settings,
        now=_clock(context),
    )  # fmt: skip
    await stars.finish_pending_refunds(
        context.db, context.bot, admin_chat_id=context.settings.admin_chat_id, now=_clock(context)
    )


async def alerts_job(context: BotContext) -> None:
    await run_alerts(context.db, context.settings, _clock(context))


async def reminders_job(context: BotContext) -> None:
    await run_reminders(context.db, context.settings, _clock(context))


async def outbox_job(context: BotContext) -> None:
    """Scheduled announcements due are queued, the outbox drained, progress shown."""
    last_sent = context.bot_data.setdefault("outbox_last_sent", {})
    moment = _clock(context)
    await announcements.queue_due(context.db, moment, owner_ids=context.settings.admin_ids)
    leadership = context.bot_data.get("leadership")
    await notifier.drain(
        context.bot,
        context.db,
        context.settings,
        moment,
        budget_seconds=max(1.0, context.settings.outbox_interval_seconds * 0.9),
        last_sent=last_sent,
        catalogs=context.i18n,
        # Stop between two messages if another instance took over meanwhile.
        still_leader=(lambda: leadership.is_leader) if leadership is not None else None,
    )
    await broadcast.refresh_progress(
        context.bot, context.db, context.settings, _clock(context), context.i18n
    )


async def reports_job(context: BotContext) -> None:
    await reports.run_reports(context.db, context.settings, _clock(context))


async def backup_job(context: BotContext) -> None:
    await backups.run_backup(
        context.bot, context.db, context.settings, _clock(context), context.i18n
    )


def register(app: BotApplication) -> None:
    settings = cast(Settings, app.bot_data["settings"])
    if not settings.jobs_enabled:
        return
    queue = app.job_queue
    assert queue is not None, "python-telegram-bot[job-queue] is required"
    once = {"max_instances": 1, "coalesce": True}
    queue.run_repeating(
        outbox_job, interval=settings.outbox_interval_seconds, first=1, name="outbox",
        job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        alerts_job, interval=settings.alerts_interval_seconds, first=2, name="alerts",
        job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        reconcile_job, interval=settings.reconcile_interval_seconds, first=1,
        name="reconcile", job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        panel_check_job, interval=settings.panel_check_interval_seconds, first=30,
        name="panel_check", job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        stars_job, interval=stars.INTERVAL_SECONDS, first=60, name="stars_reconcile",
        job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        stranded_payments_job, interval=stars.STRANDED_INTERVAL_SECONDS, first=5,
        name="stars_stranded", job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        pause_ends_job, interval=settings.alerts_interval_seconds, first=4,
        name="pause_ends", job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        reminders_job, interval=settings.reminders_interval_seconds, first=3, name="reminders",
        job_kwargs=once,
    )  # fmt: skip
    queue.run_repeating(
        reports_job, interval=settings.reports_interval_seconds, first=45, name="reports",
        job_kwargs=once,
    )  # fmt: skip
    if settings.backup_chat_id is not None:
        queue.run_repeating(
            backup_job, interval=backups.CHECK_SECONDS, first=60, name="backup",
            job_kwargs=once,
        )  # fmt: skip
    db = cast(Database, app.bot_data["db"])
    # Several instances on PostgreSQL: only the leader's runs do anything.
    leadership = app.bot_data["leadership"] = leading.leadership_for(db.engine, settings, queue)
    for job in queue.jobs():  # each run counted and timed under the job's name
        job.callback = leading.led_by(
            leadership, metrics.timed_job(job.name or "job", job.callback)
        )
