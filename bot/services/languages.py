"""Who reads the bot in which language: remembered per chat, in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.i18n import LANGUAGES
from models import ChatLanguage

if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql, sqlite


class UnknownLanguage(ValueError):
    code = "unknown_language"


async def remember(db: Database, chat_id: int, language: str, now: dt.datetime) -> str:
    """First contact: keep the language the client reported, unless one is stored.

    Returns the stored language (an earlier choice wins).
    """
    async with db.transaction() as session:
        found = await session.get(ChatLanguage, chat_id)
        if found is not None:
            return found.language
        await _insert_if_absent(session, chat_id, language, now)
        stored = await session.get(ChatLanguage, chat_id, populate_existing=True)
        return stored.language if stored is not None else language


async def _insert_if_absent(
    session: AsyncSession, chat_id: int, language: str, now: dt.datetime
) -> None:
    # Only the dialect in use is imported: PostgreSQL's would cost a bot on SQLite 2 MB.
    insert: Callable[[type[ChatLanguage]], postgresql.Insert | sqlite.Insert]
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    await session.execute(
        insert(ChatLanguage)
        .values(chat_id=chat_id, language=language, chosen=False, updated_at=now)
        .on_conflict_do_nothing(index_elements=["chat_id"])
    )


async def choose(db: Database, chat_id: int, language: str, now: dt.datetime) -> str:
    """/language: the user's own choice, kept from now on."""
    if language not in LANGUAGES:
        raise UnknownLanguage(language)
    async with db.transaction() as session:
        found = await session.get(ChatLanguage, chat_id, with_for_update=True)
        if found is None:
            session.add(
                ChatLanguage(chat_id=chat_id, language=language, chosen=True, updated_at=now)
            )
        else:
            found.language, found.chosen, found.updated_at = language, True, now
    return language


async def languages_of(session: AsyncSession, chat_ids: Collection[int]) -> dict[int, str]:
    """The stored language of each chat that has one (for rendering queued notices)."""
    if not chat_ids:
        return {}
    rows = await session.execute(
        select(ChatLanguage.chat_id, ChatLanguage.language).where(
            ChatLanguage.chat_id.in_(set(chat_ids))
        )
    )
    return {chat_id: language for chat_id, language in rows}
