"""Settings from the environment and an optional ``.env`` file."""

from __future__ import annotations

import datetime as dt
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.money import parse_amount
from bot.services.provisioning import PROVIDERS

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///data/bot.db"
# What a scheduled summary can show, in this order by default.
REPORT_SECTIONS = ("sales", "topups", "credits", "customers", "expiries", "debt", "top")
FREE_MESSAGES_PER_SECOND = 30  # Telegram's broadcast limit without paid broadcasts
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    telegram_bot_token: SecretStr | None = None
    telegram_api_base_url: str | None = None
    database_url: str = DEFAULT_DATABASE_URL
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    admin_chat_id: int | None = None
    currency: str = Field(default="credits", min_length=1, max_length=16)
    # A folder of <language>.po files whose messages replace the shipped ones.
    locale_overrides_dir: Path | None = None
    timezone: str = "UTC"
    log_level: str = "INFO"
    # Telegram's overall flood limit for one bot; messages are spaced evenly under it,
    # replies to users first. Above Telegram's free 30 a second it takes paid broadcasts.
    telegram_messages_per_second: float = Field(default=30, gt=0, le=1000)
    telegram_paid_broadcast: bool = False
    # Updates handled at the same time: one per user at most, so a slow panel call
    # delays only the user waiting for it.
    max_concurrent_updates: int = Field(default=64, ge=1, le=1024)
    # Top-ups: bounds of one request (hundredths of a credit once validated), how many
    # may wait at once, and the currency resellers pay in.
    topup_min_credits: Annotated[int, NoDecode] = 1_000
    topup_max_credits: Annotated[int, NoDecode] = 10_000_000
    topup_max_pending: int = Field(default=3, ge=1, le=100)
    price_currency: str = Field(default="USD", min_length=1, max_length=16)
    conversation_timeout_minutes: float = Field(default=15, gt=0, le=1440)
    # Who provisions subscriptions ("local": this database is the system of record), and
    # how long to wait for it before the sale is abandoned and the held credit released.
    provisioning_provider: str = "local"
    provisioning_timeout_seconds: float = Field(default=30, gt=0, le=600)
    # On SIGTERM/SIGINT, how long updates under way (a sale at its panel) may finish.
    shutdown_grace_seconds: float = Field(default=8, gt=0, le=600)
    # Fernet key that seals panel credentials in the database (see README, "Panels").
    secret_key: SecretStr | None = None
    # A panel's circuit opens after this many calls in a row without an answer; sales on
    # it are then refused at once until a probe, at most every so many seconds, answers.
    panel_failures_to_open: int = Field(default=3, ge=1, le=100)
    panel_probe_after_seconds: float = Field(default=30, gt=0, le=3600)
    # Reconciliation of panel orders left in flight: how often, and how long past the
    # provisioning timeout an order must be before the panel is asked about it.
    reconcile_interval_seconds: float = Field(default=60, gt=0)
    reconcile_grace_seconds: float = Field(default=60, ge=0, le=86400)
    # The second reconciliation: how often each panel's users are compared with the
    # customers here (differences are reported to the admin group, nothing is changed).
    panel_check_interval_seconds: float = Field(default=86400, gt=0)
    # A customer's /status asks the panel for live state: how long an answer is reused,
    # and how long to wait before answering from the database instead.
    live_status_cache_seconds: float = Field(default=60, ge=0, le=3600)
    live_status_timeout_seconds: float = Field(default=3, gt=0, le=30)
    # How many announcements one reseller may send (or schedule) in 24 hours, so their
    # customers are not spammed; admins are not limited.
    reseller_announcements_per_day: int = Field(default=3, ge=0, le=100)
    # Scheduled jobs. Each also runs once shortly after start-up to catch up.
    jobs_enabled: bool = True
    alerts_interval_seconds: float = Field(default=300, gt=0)
    reminders_interval_seconds: float = Field(default=1800, gt=0)
    outbox_interval_seconds: float = Field(default=2, gt=0)
    reminder_offsets_days: Annotated[tuple[int, ...], NoDecode] = (7, 3, 1, 0)
    digest_time: dt.time = dt.time(9, 0)
    topup_remind_after_hours: float = Field(default=12, gt=0)
    topup_expire_after_days: float = Field(default=3, gt=0)
    outbox_max_attempts: int = Field(default=8, ge=1, le=100)
    # Scheduled backups: an encrypted copy of the database sent to this private chat or
    # channel every so many hours (both set, or neither), the last BACKUP_KEEP kept on disk
    # in BACKUP_DIR (default: backups/ beside the SQLite file, or ./backups).
    backup_chat_id: int | None = None
    backup_interval_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    backup_keep: int = Field(default=7, ge=1, le=1000)
    backup_dir: Path | None = None
    # Scheduled reports (see README, "Scheduled reports"), at local times (TIMEZONE): a
    # summary of the day before to the admin group at REPORT_DAILY_TIME, one of the seven
    # days before on REPORT_WEEKLY_DAY (1 Monday .. 7 Sunday) at REPORT_WEEKLY_TIME, each
    # with the REPORT_SECTIONS named; each reseller's statement of the month before, from
    # the 1st at STATEMENT_TIME. Looked at every REPORTS_INTERVAL_SECONDS.
    report_daily_enabled: bool = True
    report_daily_time: dt.time = dt.time(8, 0)
    report_weekly_enabled: bool = True
    report_weekly_day: int = Field(default=1, ge=1, le=7)
    report_weekly_time: dt.time = dt.time(8, 0)
    report_sections: Annotated[tuple[str, ...], NoDecode] = REPORT_SECTIONS
    statements_enabled: bool = True
    statement_time: dt.time = dt.time(10, 0)
    reports_interval_seconds: float = Field(default=300, gt=0)
    # How updates arrive: long polling, or Telegram posting them to PTB's webhook server
    # (behind a reverse proxy that holds the certificate; see README, "Running in
    # production").
    bot_mode: Literal["polling", "webhook"] = "polling"
    webhook_listen: str = "0.0.0.0"  # where PTB's server listens (the proxy's upstream)
    webhook_port: int = Field(default=8443, ge=1, le=65535)
    webhook_url: str | None = None  # the public base URL Telegram posts to
    webhook_path: str = "/telegram"
    webhook_secret: SecretStr | None = None  # Telegram's X-Telegram-Bot-Api-Secret-Token
    # /healthz, /readyz and /metrics on their own small HTTP server (both modes; PTB's
    # webhook server takes no extra routes). Unset: no such server.
    health_listen: str = "0.0.0.0"
    health_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_enabled: bool = True
    # /readyz asks the Bot API (getMe) at most this often, reusing the answer meanwhile.
    readiness_bot_api_cache_seconds: float = Field(default=30, ge=0, le=3600)
    # PostgreSQL only: the schema the bot's tables live in (its search_path), to share one
    # database with other applications or other bots. Unset: the server's default.
    database_schema: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
    # Several instances on PostgreSQL: the one holding an advisory lock runs the jobs and
    # the sender; the others try for it this often. The lock's key is derived from the
    # database and schema unless set here (any 64-bit integer the same in every instance).
    leader_retry_seconds: float = Field(default=2.5, gt=0, le=10)
    leader_lock_key: int | None = Field(default=None, ge=-(2**63), le=2**63 - 1)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        # "1, 2,3" in the environment; a list when built in code.
        if isinstance(value, str):
            return frozenset(int(part) for part in value.replace(" ", "").split(",") if part)
        return value

    @field_validator("topup_min_credits", "topup_max_credits", mode="before")
    @classmethod
    def _amount(cls, value: object) -> object:
        # Written as credits ("10", "10.50"); held as hundredths.
        if isinstance(value, str):
            return parse_amount(value)
        return value

    @model_validator(mode="after")
    def _bounds(self) -> Settings:
        if self.topup_min_credits > self.topup_max_credits:
            raise ValueError("TOPUP_MIN_CREDITS is above TOPUP_MAX_CREDITS")
        return self

    @model_validator(mode="after")
    def _backups(self) -> Settings:
        if (self.backup_chat_id is None) != (self.backup_interval_hours is None):
            raise ValueError("set BACKUP_CHAT_ID and BACKUP_INTERVAL_HOURS together, or neither")
        if self.backup_chat_id is not None and self.secret_key is None:
            raise ValueError(
                "BACKUP_CHAT_ID needs SECRET_KEY: the backups sent to Telegram are encrypted"
            )
        return self

    @model_validator(mode="after")
    def _free_rate(self) -> Settings:
        # Telegram refuses more than 30 a second unless the bot pays for broadcasts.
        if self.telegram_messages_per_second > FREE_MESSAGES_PER_SECOND and not (
            self.telegram_paid_broadcast
        ):
            raise ValueError(
                f"TELEGRAM_MESSAGES_PER_SECOND above {FREE_MESSAGES_PER_SECOND} needs "
                "TELEGRAM_PAID_BROADCAST=true"
            )
        return self

    @field_validator("reminder_offsets_days", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        # "7,3,1,0" in the environment: days before expiry, 0 being the day itself.
        if isinstance(value, str):
            value = [int(part) for part in value.replace(" ", "").split(",") if part]
        if isinstance(value, list | tuple):
            offsets = tuple(sorted({int(v) for v in value}, reverse=True))
            if not offsets or any(not 0 <= v <= 60 for v in offsets):
                raise ValueError("use days from 0 to 60, like 7,3,1,0")
            return offsets
        return value

    @field_validator("report_sections", mode="before")
    @classmethod
    def _sections(cls, value: object) -> object:
        # "sales,topups,debt" in the environment, in the order the summary shows them.
        if isinstance(value, str):
            value = [part for part in value.replace(" ", "").split(",") if part]
        if isinstance(value, list | tuple):
            unknown = [v for v in value if v not in REPORT_SECTIONS]
            if unknown:
                raise ValueError(f"unknown report sections {unknown}, use {REPORT_SECTIONS}")
            return tuple(dict.fromkeys(value))
        return value

    @field_validator("provisioning_provider")
    @classmethod
    def _known_provider(cls, value: str) -> str:
        if value not in PROVIDERS:
            raise ValueError(f"unknown provider {value!r}; known: {', '.join(sorted(PROVIDERS))}")
        return value

    @field_validator(
        "telegram_api_base_url",
        "telegram_bot_token",
        "admin_chat_id",
        "secret_key",
        "locale_overrides_dir",
        "backup_chat_id",
        "backup_interval_hours",
        "backup_dir",
        "webhook_url",
        "webhook_secret",
        "health_port",
        "database_schema",
        "leader_lock_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("secret_key")
    @classmethod
    def _fernet_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            try:
                Fernet(value.get_secret_value().encode())
            except (ValueError, TypeError) as exc:
                raise ValueError(
                    "not a Fernet key; make one with: python -c 'from cryptography.fernet "
                    "import Fernet; print(Fernet.generate_key().decode())'"
                ) from exc
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_token(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram's rule for setWebhook's secret_token.
        if value is not None and not _SECRET_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("use 1 to 256 characters: letters, digits, _ and -")
        return value

    @field_validator("webhook_path")
    @classmethod
    def _path(cls, value: str) -> str:
        path = "/" + value.strip().strip("/")
        if path == "/" or any(c in path for c in " ?#"):
            raise ValueError("use a path like /telegram (not / alone, no spaces, ? or #)")
        return path

    @model_validator(mode="after")
    def _webhook_complete(self) -> Settings:
        if self.bot_mode != "webhook":
            return self
        missing = [
            name
            for name, value in (
                ("WEBHOOK_URL", self.webhook_url),
                ("WEBHOOK_SECRET", self.webhook_secret),
            )
            if value is None
        ]
        if missing:
            raise ValueError(f"BOT_MODE=webhook needs {' and '.join(missing)}")
        assert self.webhook_url is not None
        if not self.webhook_url.startswith(("https://", "http://")):
            raise ValueError(
                "WEBHOOK_URL must be the public base URL, like https://bot.example.com"
            )
        if self.health_port is not None and self.health_port == self.webhook_port:
            raise ValueError("HEALTH_PORT must differ from WEBHOOK_PORT")
        return self

    @property
    def webhook_full_url(self) -> str:
        """Where Telegram posts updates: the public base URL and the path."""
        return f"{(self.webhook_url or '').rstrip('/')}{self.webhook_path}"

    @field_validator("telegram_api_base_url")
    @classmethod
    def _strip_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}, use a name like Europe/Berlin") from exc
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("use DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return level

    def report_switches(self) -> dict[str, bool]:
        """Each scheduled report, then each summary section, on or off as set here; the
        sections in the order a summary shows them (those not chosen last)."""
        chosen = self.report_sections
        sections = (*chosen, *(name for name in REPORT_SECTIONS if name not in chosen))
        return {
            "daily": self.report_daily_enabled,
            "weekly": self.report_weekly_enabled,
            "statements": self.statements_enabled,
            **{name: name in chosen for name in sections},
        }

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_admin(self, telegram_id: int) -> bool:
        return telegram_id in self.admin_ids
