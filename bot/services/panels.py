"""Provisioning panels an operator configures: stored, credentials sealed, tested.

Credentials are a Fernet token in the database, sealed with the ``SECRET_KEY`` setting,
and opened only to build an adapter. They are never returned in a view, printed or
logged; ``secrets_of`` lists them so the log formatter can redact them anyway.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.adapters.panels.base import PanelAdapter, PanelConfig
from bot.adapters.panels.marzban import MarzbanAdapter, PasarGuardAdapter
from bot.adapters.panels.remnawave import RemnawaveAdapter
from bot.adapters.panels.webhook import WebhookAdapter
from bot.adapters.panels.xui import XuiAdapter
from bot.adapters.panels.xuione import XuiOneAdapter
from bot.db import Database
from bot.services import admin_log
from models import Panel, PanelKind
from models.base import utcnow

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
MAKE_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
DEFAULT_TIMEOUT_SECONDS = 10.0

# Which credentials each kind needs: any one of the alternatives, all of its fields.
CREDENTIALS: dict[PanelKind, tuple[tuple[str, ...], ...]] = {
    PanelKind.MARZBAN: (("username", "password"),),
    PanelKind.PASARGUARD: (("api_key",), ("username", "password")),
    PanelKind.XUI: (("token",), ("username", "password")),
    PanelKind.REMNAWAVE: (("token",),),
    PanelKind.XUI_ONE: (("api_key",),),
    PanelKind.WEBHOOK: (("secret",),),
}
ADAPTERS: dict[PanelKind, Any] = {
    PanelKind.MARZBAN: MarzbanAdapter,
    PanelKind.PASARGUARD: PasarGuardAdapter,
    PanelKind.XUI: XuiAdapter,
    PanelKind.REMNAWAVE: RemnawaveAdapter,
    PanelKind.XUI_ONE: XuiOneAdapter,
    PanelKind.WEBHOOK: WebhookAdapter,
}


class PanelConfigError(Exception):
    """A panel could not be stored, found or opened; the message says why."""


class SecretBox:
    """Seals and opens panel credentials with the Fernet key from ``SECRET_KEY``."""

    def __init__(self, key: str | None) -> None:
        self._fernet: Fernet | None = None
        if key:
            try:
                self._fernet = Fernet(key.encode())
            except (ValueError, TypeError) as exc:
                raise PanelConfigError(
                    f"SECRET_KEY is not a Fernet key (32 url-safe base64 bytes); make one with: "
                    f"{MAKE_KEY}"
                ) from exc

    def _key(self) -> Fernet:
        if self._fernet is None:
            raise PanelConfigError(
                "SECRET_KEY is not set, so panel credentials cannot be stored or read. "
                f"Make a key with: {MAKE_KEY} and put it in .env as SECRET_KEY=<key>; "
                "keep it safe: without it the stored credentials cannot be read."
            )
        return self._fernet

    def seal(self, credentials: Mapping[str, str]) -> str:
        return self._key().encrypt(json.dumps(dict(credentials)).encode()).decode()

    def open(self, token: str, panel: str) -> dict[str, str]:
        try:
            opened = json.loads(self._key().decrypt(token.encode()))
        except InvalidToken as exc:
            raise PanelConfigError(
                f"cannot read panel {panel}'s credentials: SECRET_KEY is not the key they "
                "were stored with"
            ) from exc
        return {str(k): str(v) for k, v in opened.items()}


@dataclass(frozen=True)
class PanelView:
    """A panel as anyone may see it: no credentials."""

    id: int
    name: str
    kind: PanelKind
    base_url: str
    options: Mapping[str, Any]
    enabled: bool


def _view(panel: Panel) -> PanelView:
    return PanelView(
        panel.id,
        panel.name,
        PanelKind(panel.kind),
        panel.base_url,
        json.loads(panel.options or "{}"),
        panel.enabled,
    )


def check_credentials(kind: PanelKind, credentials: Mapping[str, str]) -> None:
    given = {k for k, v in credentials.items() if v}
    if not any(set(fields) <= given for fields in CREDENTIALS[kind]):
        wanted = " or ".join("+".join(fields) for fields in CREDENTIALS[kind])
        raise PanelConfigError(f"a {kind.value} panel needs the credentials {wanted}")


def config_of(view: PanelView, credentials: Mapping[str, str]) -> PanelConfig:
    timeout = float(view.options.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS))
    return PanelConfig(view.base_url, credentials, timeout, view.options)


def build_adapter(view: PanelView, credentials: Mapping[str, str]) -> PanelAdapter:
    try:
        adapter: PanelAdapter = ADAPTERS[view.kind](config_of(view, credentials))
    except (ValueError, KeyError) as exc:
        raise PanelConfigError(f"panel {view.name}: {exc}") from exc
    return adapter


async def add_panel(
    db: Database,
    box: SecretBox,
    *,
    name: str,
    kind: str,
    base_url: str,
    credentials: Mapping[str, str],
    options: Mapping[str, Any] | None = None,
    actor: str = admin_log.CLI,
    now: dt.datetime | None = None,
) -> PanelView:
    """Add a panel, its credentials sealed; logged without them."""
    name = name.strip().lower()
    if not _NAME.fullmatch(name):
        raise PanelConfigError("a panel name is 1 to 32 lowercase letters, digits, '-' or '_'")
    try:
        panel_kind = PanelKind(kind)
    except ValueError:
        known = ", ".join(k.value for k in PanelKind)
        raise PanelConfigError(f"unknown panel kind {kind!r}; known: {known}") from None
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 255:
        raise PanelConfigError("the panel URL must be http(s)://host[:port][/path], 255 at most")
    if parts.username or parts.password or parts.query:
        raise PanelConfigError("put no credentials or query in the panel URL")
    check_credentials(panel_kind, credentials)
    opts = dict(options or {})
    sealed = box.seal(credentials)
    # Built once to refuse options the adapter would refuse (e.g. XUI.one's access code).
    probe_view = PanelView(0, name, panel_kind, url, opts, True)
    await build_adapter(probe_view, credentials).aclose()

    async def _add(session: AsyncSession) -> PanelView:
        if await session.scalar(select(Panel.id).where(Panel.name == name)) is not None:
            raise PanelConfigError(f"a panel named {name!r} already exists")
        panel = Panel(
            name=name,
            kind=panel_kind,
            base_url=url,
            credentials=sealed,
            options=json.dumps(opts),
            enabled=True,
        )
        session.add(panel)
        await session.flush()
        await admin_log.record(
            session,
            actor=actor,
            action="panel_added",
            now=now or utcnow(),
            after={"panel": name, "kind": panel_kind.value, "url": url},
        )
        return _view(panel)

    return await db.run(_add)


async def list_panels(db: Database) -> list[PanelView]:
    async with db.transaction() as session:
        return [_view(p) for p in await session.scalars(select(Panel).order_by(Panel.id))]


async def by_name(session: AsyncSession, name: str) -> PanelView:
    panel = await session.scalar(select(Panel).where(Panel.name == name.strip().lower()))
    if panel is None:
        raise PanelConfigError(f"no panel named {name!r}; see `panel list`")
    return _view(panel)


async def set_enabled(
    db: Database,
    name: str,
    *,
    enabled: bool,
    actor: str = admin_log.CLI,
    now: dt.datetime | None = None,
) -> PanelView:
    """Enable or disable a panel; a change (not a repeat) is logged."""
    async with db.transaction() as session:
        found = await by_name(session, name)
        await session.execute(update(Panel).where(Panel.id == found.id).values(enabled=enabled))
        if found.enabled != enabled:
            await admin_log.record(
                session,
                actor=actor,
                action="panel_enabled" if enabled else "panel_disabled",
                now=now or utcnow(),
                before={"panel": found.name, "enabled": found.enabled},
                after={"panel": found.name, "enabled": enabled},
            )
        return PanelView(found.id, found.name, found.kind, found.base_url, found.options, enabled)


async def is_enabled(db: Database, panel_id: int) -> bool:
    async with db.transaction() as session:
        return bool(await session.scalar(select(Panel.enabled).where(Panel.id == panel_id)))


async def opened(db: Database, box: SecretBox, panel_id: int) -> tuple[PanelView, dict[str, str]]:
    """The panel and its credentials, opened: only to build an adapter."""
    async with db.transaction() as session:
        panel = await session.get(Panel, panel_id)
        if panel is None:
            raise PanelConfigError(f"no panel with id {panel_id}")
        view, token = _view(panel), panel.credentials
    return view, box.open(token, view.name)


async def secrets_of(db: Database, box: SecretBox) -> list[str]:
    """Every stored credential value, for the log formatter to redact."""
    async with db.transaction() as session:
        rows = (await session.execute(select(Panel.name, Panel.credentials))).all()
    found: list[str] = []
    for name, token in rows:
        found.extend(v for v in box.open(token, name).values() if len(v) >= 4)
    return found


async def probe(adapter: PanelAdapter) -> int:
    """A read call that proves the panel answers and takes the credentials: one page of
    users (how many came back on it, at most one)."""
    users = adapter.list_users()
    try:
        async for _ in users:
            return 1
        return 0
    finally:
        close = getattr(users, "aclose", None)
        if close is not None:
            await close()


async def check_panel(db: Database, box: SecretBox, name: str) -> PanelView:
    """Log in and read one page; raises the adapter's ``PanelError`` when that fails."""
    async with db.transaction() as session:
        found = await by_name(session, name)
    view, credentials = await opened(db, box, found.id)
    adapter = build_adapter(view, credentials)
    try:
        await probe(adapter)
    finally:
        await adapter.aclose()
    return view
