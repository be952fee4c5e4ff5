"""The update processor: different users side by side, each user's updates in order
(and a group's, such as the admins', in order).

A slow panel call, or any slow handler, delays only the user who is waiting for it:
updates from other users are handled at the same time, up to ``MAX_CONCURRENT_UPDATES``
at once. Updates from one user (or, for updates without a user, one chat) are
handled one at a time, in the order Telegram delivered them: an update that arrives
while the same user's previous one is being handled waits in that user's queue, which
is removed as soon as it is empty. When every slot is taken, updates wait for one in
order of arrival.

Why this is safe for what relies on updates coming one by one:

- ``ConversationHandler`` (PTB warns against it with concurrent updates): a
  conversation is keyed by chat and user, so two updates of one conversation always
  share a user and never run at the same time. Its state is read when an update is
  checked and written when its callback returns, and no later update of that user is
  checked in between. Different conversations touch different keys.
- ``user_data`` belongs to one user, so only that user's updates, one at a time,
  change it (an admin's updates in the group may run beside their private ones: the
  flows that keep drafts in ``user_data`` run in private chats; the group's prompts and
  posts are kept in the database). What several users share (``bot_data``, caches made
  on first use) is checked and set with no await in between, which two updates cannot
  interleave.
- The handler in group -1 (``handlers/reachability.py``) runs first within its own
  update, as before; two users' updates may now clear a mark at the same time, which
  is an idempotent delete.
- With several instances (PostgreSQL), a guard (``bot/user_guard.py``) extends this
  order across them: each update runs under its ordering key's lock, on the steps and
  drafts read back from the database.
- Money never relied on order: debits are conditional updates and every sale or
  top-up is keyed, and SQLite writers queue on ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from telegram import Update
from telegram.constants import ChatType
from telegram.ext import BaseUpdateProcessor

from bot import metrics

log = logging.getLogger(__name__)

# PTB takes its own semaphore, sized by the number given to BaseUpdateProcessor, before
# handing an update over. Made too wide ever to be full, so every update takes its place
# in its user's queue the moment it arrives, in arrival order, whatever order tasks
# waiting on a semaphore would wake in; the bound is applied afterwards, per update.
# (PTB's ``Application.concurrent_updates`` therefore shows this number.)
_NEVER_FULL = 1 << 30


def ordering_key(update: object) -> int | None:
    """Whose turn an update waits for: a group's chat, else its user, else its chat; None
    runs it freely.

    In a group (the admins') people act on each other's messages: a reply to the prompt
    that another admin's tap has just posted must wait until that tap is handled, or the
    prompt is not known yet. User ids are positive and group or channel ids negative, so
    the two never meet; a private chat's id is its user's, which is what ordering needs
    there.
    """
    if not isinstance(update, Update):
        return None
    chat = update.effective_chat
    if chat is not None and chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
        return chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class Guard(Protocol):
    """Runs one update's handling where no other instance handles its user's meanwhile."""

    async def run(self, update: object, handle: Callable[[], Awaitable[Any]]) -> None: ...

    async def close(self) -> None: ...


Queued = tuple[object, Awaitable[Any]]  # an update and PTB's handling of it


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential per user, at most ``max_concurrent_updates``
    updates handled at once."""

    __slots__ = ("_limit", "_queues", "_running", "_slots", "_tasks", "guard")

    def __init__(self, max_concurrent_updates: int) -> None:
        if max_concurrent_updates < 1:
            raise ValueError("max_concurrent_updates must be a positive integer")
        super().__init__(_NEVER_FULL)
        self._limit = max_concurrent_updates
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._running = 0
        # A user's queue exists while one of their updates is being handled; it holds
        # the updates that arrived meanwhile, and is removed when it runs empty.
        self._queues: dict[int, deque[Queued]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()  # handling updates right now
        # Several instances: set by bot.user_guard.install on PostgreSQL.
        self.guard: Guard | None = None

    @property
    def limit(self) -> int:
        """Updates handled at once, at most one per user."""
        return self._limit

    @property
    def running(self) -> int:
        """Updates being handled right now."""
        return self._running

    @property
    def busy_users(self) -> int:
        """Users (or chats) with an update being handled or waiting."""
        return len(self._queues)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """The application has waited for the updates under way: the guard's locks go."""
        if self.guard is not None:
            await self.guard.close()

    def cancel_under_way(self) -> int:
        """Cancel the updates still being handled (a shutdown's grace is over); how many."""
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        return len(tasks)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._process(update, coroutine)
        finally:
            self._tasks.discard(task)

    async def _process(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = ordering_key(update)
        if key is None:
            async with self._slots:
                await self._run(update, coroutine)
            return
        queue = self._queues.get(key)
        if queue is not None:
            # An earlier update of this user is under way or waiting; its task runs
            # this one after it.
            queue.append((update, coroutine))
            return
        queue = self._queues[key] = deque([(update, coroutine)])
        try:
            while queue:
                # A slot per update, not per user: when slots are scarce, a user who
                # keeps sending waits behind the others like everyone else.
                async with self._slots:
                    await self._run(*queue.popleft())
        finally:
            # Nothing awaits between the empty check and here, so nothing is lost.
            del self._queues[key]
            for _, left in queue:  # only when cancelled, at shutdown
                _close(left)

    async def _run(self, update: object, coroutine: Awaitable[Any]) -> None:
        self._running += 1
        try:
            if self.guard is None:
                await metrics.observe_update(coroutine)
            else:
                await self.guard.run(update, lambda: metrics.observe_update(coroutine))
        except Exception:
            # Application.process_update reports handler errors itself; this is what
            # escaped it, logged so that the user's next updates still run.
            log.exception("processing an update failed")
        finally:
            self._running -= 1
            _close(coroutine)  # one the guard could not start: no "never awaited" warning


def _close(coroutine: Awaitable[Any]) -> None:
    if inspect.iscoroutine(coroutine):
        coroutine.close()  # never started: no "never awaited" warning
