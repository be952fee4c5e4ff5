"""The sender: drains the outbox within Telegram's limits, a window of chats at a time.

Notices are bulk: the bot's rate limiter (``bot/ratelimit.py``) gives them only the part
of Telegram's budget that replies to users leave free (about 30 messages a second
overall, up to 1000 with paid broadcasts, 20 a minute per group, less a reserve for
replies there), so a reply never waits behind a queue of notices; it also waits out a
429's ``retry_after``. Here: at most one message a second per chat, and the outcome of
each send (``jobs/delivery.py``: sent, blocked, retried, given up) recorded.

**The window.** Up to ``window_size(settings)`` messages, each to a different chat, are
*unrecorded* at once: being sent, or sent with their outcome not yet written. A send
that ends hands its outcome to one writer, which records every outcome that has ended
meanwhile in one transaction (``outbox.record``) and only then frees their places. So
the sends overlap each other's round trips and the database writes, and a crash can
repeat at most one window's messages: those on the wire or sent and not yet recorded.

- At Telegram's free rate (``TELEGRAM_MESSAGES_PER_SECOND`` up to 30) the window is 1:
  send, record, next, as before, so a crash repeats at most one message. One message at
  a time reaches 30 a second whenever a send and its write take under 33 ms, which a
  server near Telegram's does (the benchmark sends 29 a second); a bigger window would
  only add repeats, since the rate limiter holds the rate at 30 whatever the window.
- Above it (paid broadcasts on, up to 1000 a second) one at a time cannot keep up: at
  1000 a second a message has 1 ms, less than a round trip to Telegram or a write. The
  window is then the rate times ``ROUND_TRIP`` (50 at 1000 a second): enough chats in
  flight to keep the rate through a 50 ms round trip, and the bound on what a crash may
  repeat, which the operator accepts in exchange for the rate. No more than that: every
  send in flight holds an HTTP connection, and the HTTP client's pool (httpcore) spends
  time on every request in proportion to the square of its connections, which at 100
  cost more than the sends themselves.

Before each send the sender asks ``still_leader``: an instance that lost the jobs' lock
stops at once, so only its window may go out twice (it records what already ended). An
announcement's copies are checked still queued, in one query for those about to enter
the window, so after a Stop nothing goes out but copies already in the window.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from telegram.ext import ExtBot

from bot import metrics
from bot.db import Database
from bot.i18n import Catalogs, Translator
from bot.services import announcements, outbox
from bot.services.languages import languages_of
from bot.services.outbox import Outcome, Result
from bot.settings import FREE_MESSAGES_PER_SECOND, Settings
from jobs import delivery

PER_CHAT_INTERVAL = 1.0  # seconds between two messages to one chat
# Messages read from the outbox at a time, at least a second's worth: the read sorts every
# pending message (100,000 after a round of reminders), too slow to do five times a second.
BATCH = 200
ROUND_TRIP = 0.05  # seconds a send may take, for the window to still keep the rate
MAX_WINDOW = 50


def window_size(settings: Settings) -> int:
    """Messages that may be unrecorded at once (see the module's docstring)."""
    rate = settings.telegram_messages_per_second
    if rate <= FREE_MESSAGES_PER_SECOND:
        return 1
    return min(MAX_WINDOW, math.ceil(rate * ROUND_TRIP))


async def drain(
    bot: ExtBot[Any],
    db: Database,
    settings: Settings,
    now: dt.datetime,
    *,
    budget_seconds: float,
    last_sent: dict[int, float],
    catalogs: Catalogs,
    still_leader: Callable[[], bool] | None = None,
) -> int:
    """Send what is due, for at most ``budget_seconds``. Returns how many went out.

    Each message is written in its chat's stored language at this moment (the admin
    group's in the default language); ``catalogs`` are the application's. ``last_sent``
    (when each chat was last written to, monotonic seconds) lasts from one call to the
    next. With several instances, ``still_leader`` is asked before each message.
    """
    started = time.monotonic()
    # Only the last second matters: forget older sends, or the map would grow to one
    # entry for every chat ever written to (100,000 after a round of reminders).
    for chat_id in [c for c, at in last_sent.items() if started - at >= PER_CHAT_INTERVAL]:
        del last_sent[chat_id]
    window = _Window(bot, db, settings, now, last_sent, window_size(settings))
    try:
        await _fill(window, catalogs, started + budget_seconds, still_leader)
    except asyncio.CancelledError:
        window.abandon()
        raise
    except Exception:
        await window.close()  # record what went out before the error, then raise it
        raise
    await window.close()
    return window.sent


async def _fill(
    window: _Window,
    catalogs: Catalogs,
    deadline: float,
    still_leader: Callable[[], bool] | None,
) -> None:
    """Read what is due and hand it to the window until the time is up or nothing is left."""
    db, now = window.db, window.now
    while time.monotonic() < deadline:
        # The messages in the window are still pending: read past them. Those in it as
        # the read begins, even if recorded while it runs: it may have seen them pending.
        in_window = set(window.chats)
        batch = await outbox.due(db, now, limit=window.batch + len(in_window))
        fresh = deque(m for m in batch if m.id not in in_window)
        if not fresh:
            if not window.chats:
                return
            await window.settled()
            continue
        async with db.transaction() as session:
            languages = await languages_of(session, {m.chat_id for m in fresh})
        progressed = False
        postponed: list[int] = []
        while fresh and time.monotonic() < deadline:
            group = _next_group(window, fresh, await window.room(), postponed)
            copies = await announcements.pending_copies(
                db, (m.id for m in group if m.kind == announcements.KIND)
            )
            for message in group:
                if still_leader is not None and not still_leader():
                    return
                progressed = True
                if message.kind == announcements.KIND and message.id not in copies:
                    continue  # stopped by its author meanwhile: nothing to send
                t = catalogs.get(languages.get(message.chat_id))
                window.launch(message, t, copies.get(message.id))
        await outbox.postpone(db, postponed, now + dt.timedelta(seconds=PER_CHAT_INTERVAL))
        if not progressed:
            return


def _next_group(
    window: _Window, fresh: deque[outbox.Due], room: int, postponed: list[int]
) -> list[outbox.Due]:
    """Up to ``room`` messages to send now, each to a chat free to be written to; those
    to a chat written to within the last second (or in the window) wait a second."""
    group: list[outbox.Due] = []
    taken: set[int] = set()
    clock = time.monotonic()
    while fresh and len(group) < room:
        message = fresh.popleft()
        chat = message.chat_id
        if chat in window.refused:
            continue
        recent = clock - window.last_sent.get(chat, -1e9) < PER_CHAT_INTERVAL
        if recent or chat in taken or chat in window.busy:
            postponed.append(message.id)
            continue
        taken.add(chat)
        group.append(message)
    return group


class _Window:
    """The messages being sent or awaiting their record, at most ``size`` of them."""

    def __init__(
        self,
        bot: ExtBot[Any],
        db: Database,
        settings: Settings,
        now: dt.datetime,
        last_sent: dict[int, float],
        size: int,
    ) -> None:
        self.bot, self.db, self.settings, self.now = bot, db, settings, now
        self.last_sent = last_sent
        self.size = size
        self.batch = max(BATCH, math.ceil(settings.telegram_messages_per_second))
        self._group = max(1, size // 4)  # outcomes recorded together, once this many ended
        self.chats: dict[int, int] = {}  # message id -> chat, until its outcome is recorded
        self.busy: set[int] = set()  # their chats
        self.refused: set[int] = set()  # answered 403 in this pass: their batch is stale
        self.sent = 0
        self._ended: list[Outcome] = []  # sends that ended, outcome not yet recorded
        self._tasks: set[asyncio.Task[None]] = set()
        self._writer: asyncio.Task[None] | None = None
        self._changed = asyncio.Event()
        self._error: Exception | None = None

    def launch(
        self, message: outbox.Due, t: Translator, copy: announcements.Content | None
    ) -> None:
        self.chats[message.id] = message.chat_id
        self.busy.add(message.chat_id)
        task = asyncio.create_task(self._send(message, t, copy))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def room(self) -> int:
        """How many more may enter, once at least one may; raises what a send or a
        write raised, so nothing more is sent."""
        while True:
            if self._error is not None:
                raise self._error
            if len(self.chats) < self.size:
                return self.size - len(self.chats)
            await self.settled()

    async def settled(self) -> None:
        """Wait until some outcomes are recorded."""
        self._changed.clear()
        await self._changed.wait()

    async def close(self) -> None:
        """Wait for the sends in flight and record every outcome."""
        try:
            while self._tasks:
                await asyncio.gather(*self._tasks)
            while self._writer is not None and not self._writer.done():
                await self._writer
        except asyncio.CancelledError:
            self.abandon()
            raise
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Cancelled (the bot stops): stop the sends and the writer. What is unrecorded
        stays pending, so at most the window's messages go out again."""
        for task in [*self._tasks, self._writer]:
            if task is not None:
                task.cancel()

    async def _send(
        self, message: outbox.Due, t: Translator, copy: announcements.Content | None
    ) -> None:
        try:
            outcome = await delivery.send_one(self.bot, self.db, self.settings, message, t, copy)
        except Exception as exc:  # not recorded: the message stays pending
            self._error = self._error or exc
            self._forget([message])
            self._write_soon()
            return
        if outcome.result == Result.SENT:
            self.last_sent[message.chat_id] = time.monotonic()
        if outcome.refused:
            self.refused.add(message.chat_id)
        self._ended.append(outcome)
        self._write_soon()

    def _ready(self) -> bool:
        """Whether to record now: a group's worth ended, or every send in the window did
        (a transaction per message would cost more than the sends at 1000 a second)."""
        in_flight = len(self.chats) - len(self._ended)
        return bool(self._ended) and (len(self._ended) >= self._group or not in_flight)

    def _write_soon(self) -> None:
        if self._ready() and (self._writer is None or self._writer.done()):
            self._writer = asyncio.create_task(self._write())

    async def _write(self) -> None:
        """Record what has ended, one transaction for all of it, until nothing is left."""
        while self._ready():
            ended, self._ended = self._ended, []
            try:
                await outbox.record(
                    self.db, ended, self.now, max_attempts=self.settings.outbox_max_attempts
                )
            except Exception as exc:  # not recorded: these stay pending
                self._error = self._error or exc
            else:
                sent = sum(1 for o in ended if o.result == Result.SENT)
                self.sent += sent
                metrics.OUTBOX_SENT.inc(sent)
            self._forget([o.message for o in ended])

    def _forget(self, messages: Sequence[outbox.Due]) -> None:
        for message in messages:
            del self.chats[message.id]
            self.busy.discard(message.chat_id)
        self._changed.set()
