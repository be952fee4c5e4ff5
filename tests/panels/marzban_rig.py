"""Shared set-up for the Marzban/PasarGuard adapter tests: a fake panel and an adapter."""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs

import httpx

from bot.adapters.panels.base import GIB, NewUser
from bot.adapters.panels.marzban import MarzbanAdapter, PasarGuardAdapter
from tests.panels.fake_marzban import FakeMarzban, MarzbanHarness, Recorded

FLAVOURS = ("marzban", "pasarguard")


@asynccontextmanager
async def opened(
    flavour: str = "marzban",
    *,
    api_key: bool = False,
    client: httpx.AsyncClient | None = None,
    credentials: dict[str, str] | None = None,
    base_path: str = "",
    **fake_settings: Any,
) -> AsyncIterator[tuple[FakeMarzban, MarzbanAdapter]]:
    """The fake panel (with ``fake_settings``) and an adapter logged in by password or
    by API key, optionally through a given client or with other credentials."""
    harness = MarzbanHarness(flavour, api_key=api_key)
    for name, value in fake_settings.items():
        setattr(harness.fake, name, value)
    await harness.fake.start()
    config = harness.config()
    config = dataclasses.replace(
        config,
        base_url=config.base_url + base_path,
        credentials=credentials if credentials is not None else config.credentials,
    )
    adapter_class = PasarGuardAdapter if flavour == "pasarguard" else MarzbanAdapter
    adapter = adapter_class(config, client=client)
    try:
        yield harness.fake, adapter
    finally:
        await adapter.aclose()
        await harness.fake.stop()


def new_user(
    flavour: str = "marzban",
    *,
    username: str | None = None,
    reference: str = "order:42",
    days: int = 30,
    data_limit_bytes: int | None = 5 * GIB,
    template: dict[str, Any] | None = None,
) -> NewUser:
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=days)
    return NewUser(
        username=username or f"c_{uuid.uuid4().hex[:10]}",
        expires_at=expires,
        reference=reference,
        data_limit_bytes=data_limit_bytes,
        template=template if template is not None else MarzbanHarness(flavour).template(),
    )


def form(request: Recorded) -> dict[str, list[str]]:
    return parse_qs(request.body.decode())


def trail(fake: FakeMarzban) -> list[str]:
    """The requests the fake received, as ``METHOD /path``."""
    return [f"{r.method} {r.path}" for r in fake.requests]
