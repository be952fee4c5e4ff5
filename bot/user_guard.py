"""One user's updates one at a time across instances (PostgreSQL), on the latest step.

``bot/updates.py`` orders a user's updates within one instance. With several instances
behind one webhook, a user's next update may reach another instance while the first
is still being handled there, and each instance keeps the conversation steps and the
drafts (``user_data``) in memory, read from the database at start-up only. So, before an
update of a user is handled, ``UserGuard``:

1. takes a PostgreSQL session-level advisory lock on a key derived from the update's
   ordering key (``bot.updates.ordering_key``: the user, or the admins' group, and then
   its user too) and the database and schema the bot works in;
2. reads that user's conversation step and ``user_data`` back from the database (on
   the lock's connection: no pool checkout, no transaction) into PTB's in-memory
   structures, so the update continues from the step another instance
   may have reached (the persistence writes them through after each update);
3. lets the update be handled, writes what it changed (already done by the
   write-through handler; done again here in case a handler stopped the groups early);
4. and gives the lock up, on success, on error and on cancellation alike.

Why an advisory lock on one connection of its own, rather than the alternatives:

- A row lock (``SELECT ... FOR UPDATE``) would need a transaction open for the whole
  update, across panel and Bot API calls, which the project never does, and a
  connection per update in flight: ``MAX_CONCURRENT_UPDATES`` (64) connections from a
  pool of 15.
- A lease row with an expiry needs a table, renewals for long updates, and leaves a
  user waiting until the expiry when its instance dies.
- A session-level advisory lock lives exactly as long as the session that took it:
  when an instance dies, however it dies, the server ends its session and frees its
  locks (as for the jobs' leader, ``bot/leader.py``). Session locks of different keys
  are independent, so one connection holds the locks of every update under way in
  this instance: it is taken from the engine (so it gets the same search path and
  settings) and then detached from the pool, so the updates' own transactions keep the
  whole pool. Taking a lock is ``pg_try_advisory_lock``, never the waiting
  ``pg_advisory_lock``, which would block that shared connection: a lock held by
  another instance is tried again after a short, growing pause. Such a wait happens
  only when one user's updates reach two instances at the same moment.

It cannot deadlock with the updates' own transactions: the lock is not a row lock, is
taken on a connection that runs no transaction (only the locks and the reads back). Nor
between updates: an update waits for no other update, and holds one key, its user's,
except in a group, where it takes the group's and then its user's; nothing takes a
group's key while holding a user's.

Queries on the shared connection run as tasks of their own that a cancelled update
does not interrupt (an interrupted statement would leave the connection unusable); an
update cancelled while its lock was being taken gives the lock up as soon as it is.

What is read back: the steps of the persistent conversations for the update's own
conversation key, and the user's ``user_data``. An admin's flow in the group (a refund,
a suspension) keeps its draft there as a private flow does, and that ``user_data`` is
shared with the admin's private chat: so a group's update holds its user's lock too.

A conversation's timeout runs under the same lock (``_GuardedTimeouts``).

If the lock connection itself is lost, the server frees its locks while their updates
go on: for those updates only, another instance may handle the same user meanwhile.
The next update opens a new one; while none can be opened (the database is away), an
update is not handled unguarded but refused through the error handler, whose "try
again later" its user sees, as when a handler finds the database away.

Always on with PostgreSQL, with no setting to turn it off: it costs three short
statements per update (take the lock, read back, give it up; sent through asyncpg
directly, see ``bot/pg_locks.py``), and a lone instance never waits. With SQLite
there is one instance per database (``bot/instance.py``): no guard.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

from telegram import Update
from telegram.ext import ConversationHandler, Job
from telegram.ext._handlers.conversationhandler import PendingState, _ConversationTimeoutContext
from telegram.ext._utils.trackingdict import TrackingDict

from bot.context import BotApplication
from bot.persistence import DatabasePersistence, Reloaded
from bot.pg_locks import AdvisoryLocks
from bot.updates import PerUserUpdateProcessor, ordering_key


class UserGuard:
    """Runs each update under its user's lock, on the steps and drafts read back."""

    def __init__(self, app: BotApplication, persistence: DatabasePersistence) -> None:
        self.app = app
        self.persistence = persistence
        self.locks = AdvisoryLocks(persistence.db.engine)

    async def run(self, update: object, handle: Callable[[], Awaitable[Any]]) -> None:
        """Handle ``update`` (``handle`` starts PTB's processing of it) under the guard."""
        ordering = ordering_key(update)
        if ordering is None or not isinstance(update, Update):
            await handle()
            return
        started = False
        try:
            async with self.holding(update, ordering):
                started = True
                await handle()
        except Exception as exc:
            if started:
                raise
            # No lock (the database is away, say): the update is not handled, and its
            # user hears why, as from a handler that failed ("try again later").
            await self.app.process_error(update, exc)

    @contextlib.asynccontextmanager
    async def holding(self, update: Update, ordering: int) -> AsyncIterator[Reloaded]:
        """The lock of ``ordering`` held, and its user's too in a group; ``update``'s
        steps and its user's data read back."""
        user = update.effective_user
        orderings = [ordering]
        if user is not None and user.id != ordering:
            # A group's update: its flow's draft is its user's user_data, which their
            # private updates change too. The group's lock first, always: a private
            # update takes no group's, so no two updates wait for each other.
            orderings.append(user.id)
        async with contextlib.AsyncExitStack() as held:
            for one in orderings:
                await held.enter_async_context(self.locks.holding(await self.locks.key_of(one)))
            # This instance's own changes not yet written (a timeout's end, say) first,
            # or reading back would undo them.
            await self.app.update_persistence()
            yield await self.refresh(update)
            # Written before another instance may read them (the write-through handler
            # has done so, unless a handler stopped the later groups).
            await self.app.update_persistence()

    async def refresh(self, update: Update) -> Reloaded:
        """Read the update's conversation steps and its user's data (whose locks are
        held) back into PTB's memory."""
        user = update.effective_user
        user_id = user.id if user is not None else None
        conversations = _conversations(self.app, update)
        steps = [(name, key) for name, (key, _) in conversations.items()]
        # Read on the lock's own connection: no pool checkout and no transaction, and
        # each read sees what the lock's last holder committed before it let go.
        found = await self.locks.run(lambda conn: self.persistence.reload(user_id, steps, conn))
        if found.user_data is not None and user_id is not None:
            # PTB hands the same dict to every handler: refill it rather than replace it.
            data = self.app.user_data[user_id]
            data.clear()
            data.update(found.user_data)
        for name, (key, states) in conversations.items():
            if (
                (name, key) not in found.steps
                or isinstance(states.get(key), PendingState)
                # Changed here while the database was read (a timeout's end).
                or key in states._write_access_keys
            ):
                continue  # what this instance has still to write is newer
            state = found.steps[name, key]
            if state is not None:
                states.update_no_track({key: state})
            else:
                # Ended elsewhere; not a change of this instance's to write back.
                states.data.pop(key, None)
        return found

    async def close(self) -> None:
        await self.locks.close()


Conversations = dict[str, tuple[Any, TrackingDict[Any, object]]]


def _conversations(app: BotApplication, update: Update) -> Conversations:
    """The persistent conversations' key for ``update`` and their in-memory steps.

    PTB has no public way to read or set a conversation's step: this reaches
    ``ConversationHandler._get_key`` (the key a conversation files the update under)
    and ``_conversations`` (its steps, a ``TrackingDict`` whose ``update_no_track``
    and ``data`` change it without marking it for the persistence to write back, and
    whose ``_write_access_keys`` are the changes still to write).
    """
    found: Conversations = {}
    for handler in _persistent_conversations(app):
        try:
            key = handler._get_key(update)
        except RuntimeError:  # no chat or user to file this update under
            continue
        states = cast(TrackingDict[Any, object], handler._conversations)
        found[cast(str, handler.name)] = (key, states)
    return found


def _persistent_conversations(app: BotApplication) -> list[ConversationHandler[Any]]:
    return [
        handler
        for group in app.handlers.values()
        for handler in group
        if isinstance(handler, ConversationHandler) and handler.persistent
    ]


class _GuardedTimeouts(ConversationHandler[Any]):
    """A conversation whose timeouts also run under the user's lock, on the step read
    back, and only if that step is still the one this instance reached.

    PTB schedules a conversation's timeout as a job of the instance that took the last
    answer. When the user has gone on in another instance since, the step in the
    database was written there (or the flow has ended there): the job is not this
    instance's any more, and is dropped instead of ending the flow under the user; the
    other instance's own job ends it in time. (An answer that left the step as it was
    writes no step: that one does not count, and the flow may end up to one timeout
    early, as after a restart.) Installed by changing the class of the application's
    conversation handlers (same slots, only ``_trigger_timeout`` differs), as PTB builds
    the job from that method.
    """

    __slots__ = ()

    async def _trigger_timeout(self, context: Any) -> None:
        job = cast(Job[Any], context.job)
        ctxt = cast(_ConversationTimeoutContext[Any], job.data)
        guard = cast("UserGuard | None", ctxt.application.bot_data.get(BOT_DATA_KEY))
        ordering = ordering_key(ctxt.update)
        if guard is None or ordering is None:
            await super()._trigger_timeout(context)
            return
        key = ctxt.conversation_key
        name = cast(str, self.name)
        async with guard.holding(ctxt.update, ordering) as found:
            if (name, key) in found.steps:  # else this instance's step is still unwritten
                reached = found.reached.get((name, key))
                mine = reached is not None and reached == guard.persistence.saved_at(name).get(key)
                if not mine and self.timeout_jobs.get(key) is job:
                    del self.timeout_jobs[key]  # answered, or ended, elsewhere since
                    return
            await super()._trigger_timeout(context)


BOT_DATA_KEY = "user_guard"


def install(app: BotApplication) -> UserGuard | None:
    """Guard each update, and each conversation timeout, with its user's lock when the
    bot runs on PostgreSQL, where several instances may share the database; None on
    SQLite, which needs none."""
    persistence = app.persistence
    processor = app.update_processor
    if not isinstance(persistence, DatabasePersistence) or not isinstance(
        processor, PerUserUpdateProcessor
    ):
        return None
    if persistence.db.engine.dialect.name != "postgresql":
        return None
    guard = UserGuard(app, persistence)
    processor.guard = guard
    app.bot_data[BOT_DATA_KEY] = guard
    for handler in _persistent_conversations(app):
        handler.__class__ = _GuardedTimeouts
    return guard
