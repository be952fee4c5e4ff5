"""Which language each person reads the bot in."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class ChatLanguage(Base):
    """A user's language: from their Telegram client on first contact, or chosen with
    /language. Notices are rendered in it when they are sent."""

    __tablename__ = "chat_languages"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8))
    chosen: Mapped[bool] = mapped_column(default=False)  # set with /language
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
