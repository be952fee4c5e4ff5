"""The update processor on its own: who waits for whom, decided by gates, not by time."""

from __future__ import annotations

import asyncio
import datetime as dt

from telegram import Chat, Message, Update, User

from bot.updates import PerUserUpdateProcessor, ordering_key


def _update(update_id: int, user_id: int | None, chat_id: int = -100) -> Update:
    user = User(user_id, "U", is_bot=False) if user_id is not None else None
    chat = Chat(user_id if user_id is not None else chat_id, "private" if user_id else "channel")
    message = Message(update_id, dt.datetime.now(dt.UTC), chat, from_user=user)
    if user is None:
        return Update(update_id, channel_post=message)
    return Update(update_id, message=message)


class Work:
    """Update handlers that say when they start and end, and end when told."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def run(self, name: str) -> None:
        self.log.append(f"{name} starts")
        await self.gates.setdefault(name, asyncio.Event()).wait()
        self.log.append(f"{name} ends")

    def open(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


async def _settle() -> None:
    """Let every task that can run, run."""
    for _ in range(20):
        await asyncio.sleep(0)


async def _submit(
    processor: PerUserUpdateProcessor, work: Work, *items: tuple[str, Update]
) -> list[asyncio.Task[None]]:
    # As PTB's Application does: one task per update, created in arrival order.
    return [
        asyncio.create_task(processor.process_update(update, work.run(name)))
        for name, update in items
    ]


def test_updates_are_ordered_by_user_else_chat_and_others_run_freely() -> None:
    assert ordering_key(_update(1, 42)) == 42
    assert ordering_key(_update(2, None, chat_id=-1001)) == -1001
    # In a group, everyone's updates wait for each other: admins act on each other's posts.
    group = Chat(-1002, "supergroup")
    sent = Message(4, dt.datetime.now(dt.UTC), group, from_user=User(42, "A", is_bot=False))
    assert ordering_key(Update(4, message=sent)) == -1002
    assert ordering_key(Update(3)) is None
    assert ordering_key("not an update") is None


async def test_one_users_updates_run_one_at_a_time_in_order_while_others_run_alongside() -> None:
    processor = PerUserUpdateProcessor(8)
    work = Work()
    tasks = await _submit(
        processor, work,
        ("alice 1", _update(1, 1)), ("alice 2", _update(2, 1)), ("bob 1", _update(3, 2)),
        ("alice 3", _update(4, 1)),
    )  # fmt: skip
    await _settle()
    assert work.log == ["alice 1 starts", "bob 1 starts"]
    work.open("alice 3")
    work.open("alice 2")  # opened out of order: alice 2 still runs before alice 3
    await _settle()
    assert work.log == ["alice 1 starts", "bob 1 starts"]
    work.open("alice 1")
    await _settle()
    assert work.log == [
        "alice 1 starts", "bob 1 starts", "alice 1 ends", "alice 2 starts", "alice 2 ends",
        "alice 3 starts", "alice 3 ends",
    ]  # fmt: skip
    work.open("bob 1")
    await asyncio.gather(*tasks)
    assert processor.busy_users == 0


async def test_at_most_the_limit_run_at_once_in_turn_and_idle_users_leave_no_queue() -> None:
    processor = PerUserUpdateProcessor(2)
    work = Work()
    tasks = await _submit(
        processor, work,
        ("alice", _update(1, 1)), ("bob", _update(2, 2)), ("carol", _update(3, 3)),
        ("alice again", _update(4, 1)), ("channel", _update(5, None)),
    )  # fmt: skip
    await _settle()
    assert work.log == ["alice starts", "bob starts"]
    assert processor.running == 2
    work.open("alice")
    work.open("alice again")
    await _settle()
    # The place Alice frees goes to Carol, who was waiting; Alice's next update waits
    # its turn behind the channel post that came before it.
    assert work.log[2:] == ["alice ends", "carol starts"]
    work.open("channel")
    work.open("carol")
    await _settle()
    assert work.log[4:] == [
        "carol ends", "channel starts", "channel ends", "alice again starts", "alice again ends",
    ]  # fmt: skip
    work.open("bob")
    await asyncio.gather(*tasks)
    assert processor.busy_users == 0 and processor.running == 0


async def test_a_failing_update_does_not_stop_the_users_next_ones() -> None:
    processor = PerUserUpdateProcessor(4)
    done: list[int] = []
    gate = asyncio.Event()

    async def fails() -> None:
        await gate.wait()
        raise RuntimeError("escaped the application's error handling")

    async def works() -> None:
        done.append(2)

    first = asyncio.create_task(processor.process_update(_update(1, 1), fails()))
    second = asyncio.create_task(processor.process_update(_update(2, 1), works()))
    await _settle()
    assert done == []
    gate.set()
    await asyncio.gather(first, second)
    assert done == [2] and processor.busy_users == 0
