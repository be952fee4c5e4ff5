"""The scheduled backup: an encrypted copy of the database, sent as a document to the
operator's chat (``BACKUP_CHAT_ID``) at most once per ``BACKUP_INTERVAL_HOURS``.

When the last one went out is in the database, so a restart does not send another early.
A backup that cannot be made or sent is logged and tried again at the next check; the
last ``BACKUP_KEEP`` scheduled files are kept on disk.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.db import Database
from bot.i18n import Catalogs
from bot.ratelimit import BULK
from bot.services import backup, backup_schedule
from bot.services.backup import BackupError, BackupMade
from bot.services.backup_crypto import CryptoError
from bot.settings import Settings
from jobs import backup_views

log = logging.getLogger(__name__)

CHECK_SECONDS = 600  # how often the job looks whether a backup is due
UPLOAD_SECONDS = 600  # a large file takes a while to upload


async def run_backup(
    bot: ExtBot[Any], db: Database, settings: Settings, now: dt.datetime, catalogs: Catalogs
) -> BackupMade | None:
    """Make and send a backup if one is due; returns what was sent."""
    chat_id, hours = settings.backup_chat_id, settings.backup_interval_hours
    if chat_id is None or hours is None or settings.secret_key is None:
        return None
    try:
        last = await backup_schedule.last_sent(db, chat_id)
    except SQLAlchemyError as exc:
        log.error("scheduled backup: cannot read when the last one was sent: %s", exc)
        return None
    if not backup_schedule.is_due(last, now, dt.timedelta(hours=hours)):
        return None
    try:
        directory = backup.default_directory(settings.database_url, settings.backup_dir)
        engine = backup.engine_of(settings.database_url)
        name = backup.file_name(backup_schedule.PREFIX, engine, now, encrypted=True)
        made = await backup.backup(
            settings.database_url, directory / name, now=now, encrypt=True,
            key=settings.secret_key.get_secret_value(),
        )  # fmt: skip
    except (BackupError, CryptoError, OSError) as exc:
        log.error("scheduled backup could not be made, trying again later: %s", exc)
        return None
    try:
        sent = await _send(bot, chat_id, made, settings, catalogs)
        if sent is None:
            return None
        await backup_schedule.record_sent(db, chat_id=chat_id, made=made, message_id=sent, now=now)
        log.info("backup %s (%s bytes) sent to chat %s", made.path.name, made.size, chat_id)
        return made
    except SQLAlchemyError as exc:
        log.error("backup %s was sent but could not be recorded: %s", made.path.name, exc)
        return None
    finally:
        _prune(made.path.parent, settings.backup_keep)


def _prune(directory: Path, keep: int) -> None:
    try:
        for old in backup.prune(backup_schedule.PREFIX, directory, keep):
            log.info("old backup %s deleted (BACKUP_KEEP=%s)", old.name, keep)
    except OSError as exc:
        log.error("old backups in %s could not be deleted: %s", directory, exc)


async def _send(
    bot: ExtBot[Any], chat_id: int, made: BackupMade, settings: Settings, catalogs: Catalogs
) -> int | None:
    """Send the file; its message id, or None (logged) when Telegram did not take it."""
    text = backup_views.caption(
        catalogs.get(None), name=made.path.name, size=made.size, made_at=made.made_at,
        zone=settings.zone,
    )  # fmt: skip
    try:
        message = await bot.send_document(
            chat_id, document=made.path, filename=made.path.name, caption=text,
            write_timeout=UPLOAD_SECONDS, read_timeout=UPLOAD_SECONDS,
            # A background send: it yields to replies, and a failure waits for the
            # next check instead of being retried at once.
            rate_limit_args=BULK,
        )  # fmt: skip
    except TelegramError as exc:
        log.error(
            "backup %s (%s bytes) could not be sent to chat %s, trying again later: %s",
            made.path.name, made.size, chat_id, exc,
        )  # fmt: skip
        return None
    return int(message.message_id)
