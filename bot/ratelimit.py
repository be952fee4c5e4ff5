"""Telegram's budget for outgoing requests, shared so that replies to users come first.

Telegram lets a bot send about 30 messages a second overall (up to 1000 with paid
broadcasts), 20 a minute in one group, and answers a 429 with ``retry_after`` beyond
that. Every request to a chat (a send, an edit, a deletion; button answers name no chat
and are not counted) takes one slot on a single timeline with a slot every
``1 / TELEGRAM_MESSAGES_PER_SECOND`` seconds, so the total stays evenly under the limit
whoever sends. Two kinds of requests share the timeline:

- **interactive**, everything the handlers send while a user waits: each books the next
  free slot, first come first served;
- **bulk**, the outbox sender's notices (it passes ``rate_limit_args=BULK``): a notice
  takes a slot only when one is free at that moment and never books one ahead. The
  sender may have many notices in flight (up to 50 at 1000 a second); they wait for a
  free slot one at a time, in order, rather than all waking at every slot.

So a reply waits at most for the one notice whose slot has just begun, never for a queue
of them, and the sender gets exactly the slots replies leave. In a group, notices also
leave ``GROUP_RESERVE`` of the group's 20 messages a minute to replies. A 429 pauses
every request until its ``retry_after`` has passed; the request is then tried again, up
to ``max_retries`` times. A reply the Bot API failed with a server error (5xx) or that
never reached it is also tried again, after a short backoff: it was not delivered, and the
user is waiting for it. A timeout is not: the message may have gone out. Notices are not
either: the outbox sender backs off and retries them itself, without holding the timeline.
The sender keeps its own one message a second per chat.

With paid broadcasts on, a send that would go beyond Telegram's free 30 a second carries
``allow_paid_broadcast``: Telegram then accepts up to 1000 a second and charges the bot's
Stars for them, so Stars are spent only on what exceeds the free rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from bot import metrics

BULK = "bulk"  # rate_limit_args of the outbox sender's requests
GROUP_RESERVE = 5  # of a group's messages a minute, kept for replies
# Sends in the last second from which paid broadcasts take over; a little under 30, as
# Telegram's second and ours do not start at the same instant.
FREE_PER_SECOND = FloodLimit.MESSAGES_PER_SECOND - 3
PAUSE_MARGIN = 0.1  # seconds added to a 429's retry_after
SERVER_ERROR_BACKOFF = 0.5  # seconds before a failed reply's first retry, doubled each time
MAX_GROUP_LIMITERS = 256

# The methods that take allow_paid_broadcast.
PAID_SENDS = frozenset(
    {
        "sendMessage", "sendPhoto", "sendAudio", "sendDocument", "sendSticker", "sendVideo",
        "sendVideoNote", "sendAnimation", "sendVoice", "sendMediaGroup", "sendLocation",
        "sendVenue", "sendContact", "sendGame", "sendInvoice", "sendPoll", "sendDice",
        "copyMessage", "sendPaidMedia",
    }
)  # fmt: skip

Result = bool | dict[str, Any] | list[dict[str, Any]]


class TelegramBudget(BaseRateLimiter[str]):
    """One timeline of evenly spaced slots: replies book ahead, notices take what is free."""

    def __init__(
        self,
        messages_per_second: float,
        *,
        paid_broadcast: bool = False,
        max_retries: int = 3,
        group_per_minute: int = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
    ) -> None:
        self._interval = 1 / messages_per_second
        self._paid_broadcast = paid_broadcast
        self._max_retries = max_retries
        self._group_per_minute = group_per_minute
        self._next_slot = 0.0  # loop time of the first slot nobody has booked
        self._paused_until = 0.0
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._sends: deque[float] = deque()  # times of the sends in the last second
        self._bulk_turn = asyncio.Lock()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        group = self._group(chat_id)
        for attempt in itertools.count():
            if chat_id is None:
                await self._unpaused()
            elif rate_limit_args == BULK:
                await self._free_slot(group)
            else:
                await self._booked_slot(group)
            if endpoint in PAID_SENDS:
                self._count_send(data)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                metrics.TELEGRAM_429.inc()
                if attempt >= self._max_retries:
                    raise
                self._pause(_seconds(exc.retry_after))
            except NetworkError as exc:
                if not _undelivered(exc) or chat_id is None or rate_limit_args == BULK:
                    raise
                if attempt >= self._max_retries:
                    raise
                await asyncio.sleep(SERVER_ERROR_BACKOFF * 2**attempt)
        raise AssertionError("unreachable")

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _unpaused(self) -> None:
        wait = self._paused_until - self._now()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _booked_slot(self, group: AsyncLimiter | None) -> None:
        """A reply: the next free slot, whoever else is waiting."""
        if group is not None:
            await group.acquire()
        while True:
            now = self._now()
            slot = max(now, self._next_slot, self._paused_until)
            self._next_slot = slot + self._interval
            if slot > now:
                await asyncio.sleep(slot - now)
            if self._paused_until <= self._now():
                return
            # A 429 arrived while this request waited: book again after the pause.

    async def _free_slot(self, group: AsyncLimiter | None) -> None:
        """A notice: only a slot free now, and room in its group beyond the reserve.

        Notices wait their turn one at a time: with many in flight, each slot would
        otherwise wake every waiting notice for one of them to take it."""
        while True:
            if group is not None and not group.has_capacity(1 + GROUP_RESERVE):
                await asyncio.sleep(group.time_period / group.max_rate)
                continue
            async with self._bulk_turn:
                while True:
                    now = self._now()
                    wait = max(self._next_slot, self._paused_until) - now
                    if wait <= 0:
                        break
                    await asyncio.sleep(wait)
                if group is None or group.has_capacity(1 + GROUP_RESERVE):
                    self._next_slot = now + self._interval
                    if group is not None:
                        await group.acquire()  # it has room: returns at once
                    return

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._now() + seconds + PAUSE_MARGIN)

    def _count_send(self, data: dict[str, Any]) -> None:
        now = self._now()
        while self._sends and now - self._sends[0] >= 1:
            self._sends.popleft()
        if self._paid_broadcast and len(self._sends) >= FREE_PER_SECOND:
            data["allow_paid_broadcast"] = True  # the request is built from this dict
        self._sends.append(now)

    def _group(self, chat_id: object) -> AsyncLimiter | None:
        """The group's own limiter (20 a minute); None for a private chat."""
        with contextlib.suppress(TypeError, ValueError):
            chat_id = int(chat_id)  # type: ignore[call-overload]
        if not (isinstance(chat_id, int) and chat_id < 0) and not isinstance(chat_id, str):
            return None
        if chat_id not in self._groups and len(self._groups) >= MAX_GROUP_LIMITERS:
            for key, idle in list(self._groups.items()):
                if idle.has_capacity(idle.max_rate):  # nothing sent there for a minute
                    del self._groups[key]
        limiter = self._groups.get(chat_id)
        if limiter is None:
            limiter = self._groups[chat_id] = AsyncLimiter(self._group_per_minute, 60)
        return limiter


def _undelivered(exc: NetworkError) -> bool:
    """A server error or a connection that failed: Telegram did not take the message.
    (A 400 is the request's own fault; after a timeout it may have been delivered.)"""
    return not isinstance(exc, BadRequest | TimedOut)


def _seconds(retry_after: int | dt.timedelta) -> float:
    if isinstance(retry_after, dt.timedelta):
        return retry_after.total_seconds()
    return float(retry_after)
