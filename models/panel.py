"""Provisioning panels an operator configured: where they are and how to log in."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class PanelKind(StrEnum):
    MARZBAN = "marzban"
    PASARGUARD = "pasarguard"
    XUI = "3x-ui"
    REMNAWAVE = "remnawave"
    XUI_ONE = "xui-one"
    WEBHOOK = "webhook"


class Panel(Base):
    __tablename__ = "panels"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('marzban', 'pasarguard', '3x-ui', 'remnawave', 'xui-one', 'webhook')",
            name="kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    base_url: Mapped[str] = mapped_column(String(255))
    # A Fernet token (text) of the credentials' JSON; the key is the SECRET_KEY setting.
    credentials: Mapped[str] = mapped_column(Text)
    # Settings that are not secret (page size, access code path, link base), as JSON.
    options: Mapped[str] = mapped_column(Text, default="{}")
    enabled: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
