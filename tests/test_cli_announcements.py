"""``python -m bot announcements``: past announcements listed and shown from the shell,
a scheduled one cancelled once; a sent one and a missing id refused with one line."""

from __future__ import annotations

import asyncio

from bot.db import Database
from bot.services import announcements
from bot.services.announcement_audience import Audience, Author, Target
from bot.services.announcements import Message
from tests.conftest import database_from_url
from tests.test_bot_announcements import T0
from tests.test_cli import run  # noqa: F401 - the fixture


def _announce(url: str) -> None:
    """Two of the owner's: one sent now (to nobody yet), one scheduled for tomorrow."""

    async def go() -> None:
        db = database_from_url(url)
        try:
            everyone = Target(Audience.CUSTOMERS)
            await announcements.create(db, Author(900), everyone, Message("<b>Hello</b>"),
                                       key="a", now=T0)  # fmt: skip
            await announcements.create(db, Author(900), everyone, Message("Later"), key="b",
                                       now=T0, send_at=T0.replace(day=21))  # fmt: skip
        finally:
            await db.dispose()

    asyncio.run(go())


def test_announcements_are_listed_shown_and_a_scheduled_one_cancelled(
    run,  # noqa: F811
    database_url: str,
    db: Database,  # a clean database (its fixture empties the tables)
) -> None:
    code, out, _ = run("announcements", "list")
    assert (code, out) == (0, "No announcements yet.\n")
    _announce(database_url)
    code, out, err = run("announcements", "list")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2, err
    assert lines[0].startswith("#2\tscheduled\t2026-11-21 12:00\tcustomers:all\tby 900")
    assert lines[1].startswith("#1\tsent\t") and "sent 0, failed 0, blocked 0" in lines[1]
    code, out, _ = run("announcements", "show", "1")
    assert code == 0 and out.splitlines()[-1] == "<b>Hello</b>"
    code, out, _ = run("announcements", "cancel", "2")
    assert code == 0 and out.startswith("Cancelled: #2\tcancelled")
    assert run("announcements", "cancel", "2")[0] == 0  # again: nothing more to do
    code, _, err = run("announcements", "cancel", "1")
    assert code == 1 and "#1: it is not scheduled" in err
    code, _, err = run("announcements", "show", "77")
    assert code == 1 and "#77: there is no such announcement" in err
    code, _, err = run("announcements", "show", "x")
    assert code != 0 and "not a positive whole number" in err
    assert run("announcements", "list", "--limit", "1")[1].count("\n") == 1
    # The permission is granted from the shell like any other.
    code, out, _ = run("staff", "add", "4242", "--name", "Ann", "--permissions", "announcements")
    assert code == 0 and "may: announcements" in out


def test_one_not_sent_because_its_author_may_no_longer_announce_says_why(
    run,  # noqa: F811
    database_url: str,
    db: Database,
) -> None:
    """Scheduled by 4243, who is no admin when its time comes: not sent, and why."""

    async def go() -> None:
        db = database_from_url(url)
        try:
            await announcements.create(db, Author(4243), Target(Audience.CUSTOMERS),
                                       Message("Later"), key="c", now=T0,
                                       send_at=T0.replace(day=21))  # fmt: skip
            assert await announcements.queue_due(db, T0.replace(day=22), owner_ids={900}) == []
        finally:
            await db.dispose()

    url = database_url
    asyncio.run(go())
    code, out, _ = run("announcements", "list")
    assert code == 0 and out.startswith("#1\tnot sent\t2026-11-21 12:00\tcustomers:all\tby 4243")
    code, out, _ = run("announcements", "show", "1")
    assert code == 0 and "not sent when due: its author is no longer an admin\n" in out
    # Cancelling it changes nothing: nothing of it was ever queued.
    code, out, _ = run("announcements", "cancel", "1")
    assert code == 0 and "\tnot sent\t" in out
