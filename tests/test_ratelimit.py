"""The rate limiter on its own: replies before notices, the pace, 429s, groups, paid sends.

Order is what is asserted; where time is, only as a lower bound (a limiter may be late
on a loaded machine, never early).
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from telegram.error import RetryAfter

from bot.ratelimit import BULK, FREE_PER_SECOND, GROUP_RESERVE, TelegramBudget

EARLY = 0.01  # the event loop may fire a timer this much before it is due


class Api:
    """Stands for the Bot API: records what was sent, in order, and when."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.at: dict[str, float] = {}
        self.data: dict[str, dict[str, Any]] = {}
        self.refuse: dict[str, int] = {}  # name -> retry_after of the next 429

    async def call(self, name: str, data: dict[str, Any]) -> bool:
        if name in self.refuse:
            raise RetryAfter(self.refuse.pop(name))
        self.sent.append(name)
        self.at[name] = asyncio.get_running_loop().time()
        self.data[name] = dict(data)
        return True


async def _send(
    limiter: TelegramBudget, api: Api, name: str, chat_id: int | None = 7, *,
    bulk: bool = False, endpoint: str = "sendMessage",
) -> None:  # fmt: skip
    data: dict[str, Any] = {"text": name}
    if chat_id is not None:
        data["chat_id"] = chat_id
    await limiter.process_request(
        api.call, (name, data), {}, endpoint, data, BULK if bulk else None
    )


async def test_a_reply_goes_before_a_notice_that_was_already_waiting_for_its_turn() -> None:
    limiter, api = TelegramBudget(2), Api()  # a slot every half second
    await _send(limiter, api, "notice 1", 101, bulk=True)
    notice = asyncio.create_task(_send(limiter, api, "notice 2", 102, bulk=True))
    await asyncio.sleep(0)  # the notice is now waiting for the next slot
    await _send(limiter, api, "reply", 7)
    await notice
    assert api.sent == ["notice 1", "reply", "notice 2"]


async def test_replies_and_notices_together_stay_under_the_rate() -> None:
    limiter, api = TelegramBudget(20), Api()
    started = asyncio.get_running_loop().time()
    notices = asyncio.create_task(_notices(limiter, api, 6))
    for i in range(6):
        await _send(limiter, api, f"reply {i}", 7)
    await notices
    # Twelve requests, one slot each, a twentieth of a second apart: the last cannot
    # have gone out before eleven intervals had passed.
    assert len(api.sent) == 12
    assert max(api.at.values()) - started >= 11 / 20 - EARLY
    assert {name for name in api.sent if name.startswith("notice")} == {
        f"notice {i}" for i in range(6)
    }


async def _notices(limiter: TelegramBudget, api: Api, count: int) -> None:
    for i in range(count):  # one at a time, as the sender sends them
        await _send(limiter, api, f"notice {i}", 100 + i, bulk=True)


async def test_a_429_pauses_every_request_for_its_retry_after_then_tries_again() -> None:
    limiter, api = TelegramBudget(100), Api()
    api.refuse["first"] = 1
    started = asyncio.get_running_loop().time()
    first = asyncio.create_task(_send(limiter, api, "first", 7))
    await asyncio.sleep(0.05)  # the 429 has come back
    await _send(limiter, api, "second", 8)
    await _send(limiter, api, "answer", None, endpoint="answerCallbackQuery")
    await first
    assert set(api.sent) == {"first", "second", "answer"}
    assert all(at - started >= 1 - EARLY for at in api.at.values())


async def test_a_429_is_raised_once_the_retries_are_spent() -> None:
    limiter, api = TelegramBudget(100, max_retries=0), Api()
    api.refuse["notice"] = 1
    with pytest.raises(RetryAfter):
        await _send(limiter, api, "notice", 7, bulk=True)


async def test_in_a_group_notices_leave_room_for_replies() -> None:
    limiter, api = TelegramBudget(100, group_per_minute=GROUP_RESERVE + 2), Api()
    group = -1001
    await _send(limiter, api, "notice 1", group, bulk=True)
    await _send(limiter, api, "notice 2", group, bulk=True)
    third = asyncio.create_task(_send(limiter, api, "notice 3", group, bulk=True))
    await asyncio.sleep(0.1)
    # The notices have used what the reserve leaves them; a reply still goes at once.
    for i in range(GROUP_RESERVE):
        await _send(limiter, api, f"reply {i}", group)
    assert api.sent == ["notice 1", "notice 2", *(f"reply {i}" for i in range(GROUP_RESERVE))]
    third.cancel()
    with pytest.raises(asyncio.CancelledError):
        await third


class FrozenClock(TelegramBudget):
    """Every request in the same instant: the last second holds all of them."""

    def _now(self) -> float:
        return 0.0


@pytest.mark.parametrize("paid", [True, False])
async def test_sends_beyond_the_free_rate_are_paid_broadcasts_only_when_allowed(
    paid: bool,
) -> None:
    limiter, api = FrozenClock(1000, paid_broadcast=paid), Api()
    names = [f"send {i}" for i in range(FREE_PER_SECOND + 10)]
    await asyncio.gather(*(_send(limiter, api, name, 1000 + i) for i, name in enumerate(names)))
    await _send(limiter, api, "edit", 7, endpoint="editMessageText")
    flagged = [name for name in names if api.data[name].get("allow_paid_broadcast")]
    assert len(flagged) == (10 if paid else 0)
    assert "allow_paid_broadcast" not in api.data["edit"]


def test_a_rate_above_telegrams_free_limit_needs_paid_broadcasts() -> None:
    from pydantic import ValidationError

    from bot.settings import Settings

    with pytest.raises(ValidationError, match="TELEGRAM_PAID_BROADCAST"):
        Settings(_env_file=None, telegram_messages_per_second=100)  # type: ignore[call-arg]
    paid = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_messages_per_second=1000,
        telegram_paid_broadcast=True,
    )
    assert paid.telegram_messages_per_second == 1000
