"""Conversation steps and drafts kept in the database, so a restart loses no flow.

PTB keeps a conversation's step and the user's ``user_data`` (the flows' drafts) in
memory; this persistence writes them to the project's own database and reads them back
at start-up.

Drafts are stored as JSON through ``DraftCodec`` (bot/draft_codec.py), never pickled.

``bot_data`` holds the settings, the database and caches, rebuilt at every start: not
stored. ``chat_data`` holds nothing that must outlive a restart: not stored either.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from telegram import Update
from telegram.ext import Application, BasePersistence, PersistenceInput, TypeHandler
from telegram.ext._utils.types import CDCData, ConversationDict, ConversationKey

from bot.context import BotContext
from bot.db import Database, upgrade_schema
from bot.draft_codec import Data, DraftCodec
from models import ConversationState, UserData

if TYPE_CHECKING:
    import asyncpg

log = logging.getLogger(__name__)

# After every other handler: the update's changes are complete when they are written.
WRITE_THROUGH_GROUP = 1_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _stored_key(key: ConversationKey) -> str:
    return json.dumps(list(key), separators=(",", ":"))


# The user guard's read back (PostgreSQL, asyncpg's parameters): the steps asked for, and
# the user's data, told apart by a null name.
_RELOAD = f"""
SELECT name, key, state, updated_at FROM {ConversationState.__tablename__}
 WHERE name = ANY($1::text[]) AND key = ANY($2::text[])
UNION ALL
SELECT NULL, NULL, data, updated_at FROM {UserData.__tablename__} WHERE user_id = $3
"""


@dataclasses.dataclass(frozen=True)
class Reloaded:
    """One user's data (None: keep what is in memory) and conversation steps (None: the
    conversation has ended; a conversation left out: keep what is in memory), with when
    each step was reached."""

    user_data: Data | None
    steps: Mapping[tuple[str, ConversationKey], object | None]
    reached: Mapping[tuple[str, ConversationKey], dt.datetime]


class DatabasePersistence(BasePersistence[Data, Data, Data]):
    """Conversation steps and ``user_data`` in the database; every write commits at once.

    ``flush`` has nothing left to do, and a process killed after a write loses nothing of
    it. ``write_through`` makes the application write after each update rather than only
    every ``update_interval`` seconds (which still covers the conversation timeouts, run
    as jobs).
    """

    def __init__(self, db: Database, codec: DraftCodec, update_interval: float = 1.0) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=True, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.db = db
        self.codec = codec
        # What each user's row holds now, so an unchanged user_data is not written again.
        self._stored: dict[int, str] = {}
        self._saved_at: dict[str, dict[ConversationKey, dt.datetime]] = {}
        self._schema_ready = False
        # Changes waiting for the next transaction (None: delete the row).
        self._users: dict[int, str | None] = {}
        self._steps: dict[tuple[str, str], str | None] = {}
        self._writing = asyncio.Lock()

    async def _ready(self) -> Database:
        # PTB reads the persistence before post_init, where the schema is brought to
        # head: on a new database the tables must exist before the first read.
        if not self._schema_ready:
            await upgrade_schema(self.db.engine)
            self._schema_ready = True
        return self.db

    # --- user_data --------------------------------------------------------------------

    async def get_user_data(self) -> dict[int, Data]:
        async with (await self._ready()).transaction() as session:
            rows = (await session.scalars(select(UserData))).all()
        self._stored = {row.user_id: row.data for row in rows}
        return {row.user_id: self.codec.loads(row.data) for row in rows}

    async def update_user_data(self, user_id: int, data: Data) -> None:
        text = self.codec.dumps(data) if data else None
        if text == self._stored.get(user_id) and user_id not in self._users:
            return
        self._users[user_id] = text
        await self._write()

    async def drop_user_data(self, user_id: int) -> None:
        await self.update_user_data(user_id, {})

    async def refresh_user_data(self, user_id: int, user_data: Data) -> None:
        """Nothing to refresh here: with several instances ``bot/user_guard.py`` reads a
        user's data back before the update is even checked, which PTB's refresh (called
        once a handler has taken the update) comes too late for."""

    async def reload(
        self,
        user_id: int | None,
        steps: Sequence[tuple[str, ConversationKey]],
        conn: asyncpg.Connection,
    ) -> Reloaded:
        """What the database holds now for one user's data and the given conversations,
        read in one statement on ``conn``, an asyncpg connection (the user guard's: this
        runs before every update on PostgreSQL, where SQLAlchemy's own work on a statement
        costs several times the driver's).

        What this instance still has to write (a failed write is retried by the next
        one) is newer than the database's: it is left out, as ``user_data`` is when not
        asked for.
        """
        stored = {(name, _stored_key(key)): (name, key) for name, key in steps}
        wanted = {pair: step for pair, step in stored.items() if pair not in self._steps}
        fresh = user_id is not None and user_id not in self._users
        found: dict[tuple[str, ConversationKey], object | None] = dict.fromkeys(wanted.values())
        reached: dict[tuple[str, ConversationKey], dt.datetime] = {}
        if not wanted and not fresh:
            return Reloaded(None, found, reached)
        rows = await conn.fetch(
            _RELOAD,
            sorted({name for name, _ in wanted}),
            sorted({key for _, key in wanted}),
            user_id if fresh else None,
        )
        data: str | None = None
        for name, key, value, updated_at in rows:
            if name is None:  # the user's row
                data = value
                continue
            step = wanted.get((name, key))
            if step is not None:
                found[step] = json.loads(value)
                reached[step] = updated_at.astimezone(dt.UTC)
        if not fresh or user_id is None:
            return Reloaded(None, found, reached)
        if data is None:
            self._stored.pop(user_id, None)
            return Reloaded({}, found, reached)
        self._stored[user_id] = data
        return Reloaded(self.codec.loads(data), found, reached)

    # --- conversations ----------------------------------------------------------------

    async def get_conversations(self, name: str) -> ConversationDict:
        async with (await self._ready()).transaction() as session:
            rows = (
                await session.scalars(
                    select(ConversationState).where(ConversationState.name == name)
                )
            ).all()
        found: dict[ConversationKey, object] = {}
        saved = self._saved_at.setdefault(name, {})
        for row in rows:
            key = tuple(json.loads(row.key))
            found[key] = json.loads(row.state)
            saved[key] = row.updated_at
        return found

    def saved_at(self, name: str) -> Mapping[ConversationKey, dt.datetime]:
        """When each conversation reached the step this instance last wrote, or read at
        start-up (not one read back later: that is another instance's)."""
        return self._saved_at.get(name, {})

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        self._steps[name, _stored_key(key)] = None if new_state is None else json.dumps(new_state)
        await self._write()

    async def _write(self) -> None:
        """Write every change recorded so far in one transaction.

        PTB hands over one run's changes (a step and the draft it goes with) as calls
        gathered at once; each records its change and yields once before writing, so the
        first to write takes them all: a process killed mid-write keeps both or neither.
        """
        await asyncio.sleep(0)
        async with self._writing:
            users, steps = self._users, self._steps
            self._users, self._steps = {}, {}
            if not users and not steps:
                return
            now = _now()
            try:
                async with self.db.transaction() as session:
                    for user_id, text in users.items():
                        if text is None:
                            await session.execute(
                                delete(UserData).where(UserData.user_id == user_id)
                            )
                        else:
                            await session.merge(
                                UserData(user_id=user_id, data=text, updated_at=now)
                            )
                    for (name, key), state in steps.items():
                        if state is None:
                            await session.execute(
                                delete(ConversationState).where(
                                    ConversationState.name == name, ConversationState.key == key
                                )
                            )
                        else:
                            await session.merge(
                                ConversationState(name=name, key=key, state=state, updated_at=now)
                            )
            except Exception:
                # Kept for the next run, unless that already has newer values.
                self._users = users | self._users
                self._steps = steps | self._steps
                raise
            for user_id, text in users.items():
                if text is None:
                    self._stored.pop(user_id, None)
                else:
                    self._stored[user_id] = text
            for (name, key), state in steps.items():
                saved = self._saved_at.setdefault(name, {})
                if state is None:
                    saved.pop(tuple(json.loads(key)), None)
                else:
                    saved[tuple(json.loads(key))] = now

    # --- not stored (see the module's docstring) --------------------------------------

    async def get_chat_data(self) -> dict[int, Data]:
        return {}

    async def update_chat_data(self, chat_id: int, data: Data) -> None:
        return None

    async def drop_chat_data(self, chat_id: int) -> None:
        return None

    async def refresh_chat_data(self, chat_id: int, chat_data: Data) -> None:
        return None

    async def get_bot_data(self) -> Data:
        return {}

    async def update_bot_data(self, data: Data) -> None:
        return None

    async def refresh_bot_data(self, bot_data: Data) -> None:
        return None

    async def get_callback_data(self) -> CDCData | None:
        return None

    async def update_callback_data(self, data: CDCData) -> None:
        return None

    async def flush(self) -> None:
        """Every write has already been committed."""


async def _write_now(update: Update, context: BotContext) -> None:
    app = context.application
    if update.effective_user is not None:
        app.mark_data_for_update_persistence(user_ids=update.effective_user.id)
    await app.update_persistence()


def write_through(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Write each update's changes as soon as its handlers are done, before the next one:
    a process killed right after a reply keeps the step the reply asked for."""
    app.add_handler(TypeHandler(Update, _write_now), group=WRITE_THROUGH_GROUP)
