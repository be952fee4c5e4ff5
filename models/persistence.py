"""What the bot's conversations remember between restarts (see ``bot.persistence``)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class ConversationState(Base):
    """The step one user is at in a named conversation."""

    __tablename__ = "conversation_states"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # JSON: [chat id, user id]
    state: Mapped[str] = mapped_column(Text)  # JSON
    # When the step was reached: a flow restored after a restart times out from here.
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserData(Base):
    """A user's ``user_data`` (the drafts of the flows under way), as JSON."""

    __tablename__ = "persisted_user_data"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
