"""``python -m bot announcements``: past announcements from the shell (every one, as an
owner sees them), one in full, and cancelling a scheduled one, through the same service
as the chat's list."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.services import announcement_authors as authors
from bot.services import announcement_history
from bot.services.announcement_history import Asker, Past
from bot.services.announcements import AnnouncementError

if TYPE_CHECKING:
    from bot.cli.commands import Call

OPERATOR = Asker(0, admin=True)  # the shell sees and may cancel every announcement
LIST_LIMIT = 1_000
REFUSED = {
    authors.NO_PERMISSION: "its author may no longer send announcements",
    authors.NOT_STAFF: "its author is no longer an admin",
    authors.RESELLER_SUSPENDED: "its author's reseller account is suspended",
    authors.NOT_RESELLER: "its author is no longer a reseller",
}


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = commands.add_parser(
        "announcements", help="past and scheduled announcements"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = sub.add_parser("list", help="newest first, with state and counts")
    listing.add_argument(
        "--limit",
        type=_count,
        default=50,
        help=f"at most this many (default 50, at most {LIST_LIMIT})",
    )
    for name, what in (("show", "one in full"), ("cancel", "cancel a scheduled one")):
        one = sub.add_parser(name, help=what)
        one.add_argument("announcement_id", type=_count, metavar="ID")


def _count(text: str) -> int:
    if not text.isdecimal() or not 0 < int(text) <= 2**31 - 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return int(text)


def _audience(p: Past) -> str:
    value = f"={p.value_name or p.value}" if p.value else ""
    return f"{p.audience.value}:{p.segment.value}{value}" + (" (service)" if p.service else "")


def _state(p: Past) -> str:
    if p.refused:
        return "not sent"
    return "cancelled" if p.cancelled else "sent" if p.status == "done" else p.status.value


def _line(p: Past, call: Call) -> str:
    when = p.when.astimezone(call.settings.zone).strftime("%Y-%m-%d %H:%M")
    c = p.counts
    return (
        f"#{p.id}\t{_state(p)}\t{when}\t{_audience(p)}\tby {p.author_telegram_id}\t"
        f"sent {c.sent}, failed {c.failed}, blocked {c.blocked}, remaining {c.remaining}"
    )


async def _one(call: Call, work: Callable[..., Awaitable[Past]]) -> Past:
    try:
        return await work(call.db, call.args.announcement_id, OPERATOR)
    except AnnouncementError as exc:
        from bot.cli.commands import CliError

        reason = "it is not scheduled (use Stop in the chat for one that is sending)"
        if exc.code != "not_scheduled":
            reason = "there is no such announcement"
        raise CliError(f"announcement #{call.args.announcement_id}: {reason}") from exc


async def announcements_list(call: Call) -> int:
    found = await announcement_history.history(call.db, OPERATOR, 0, size=call.args.limit)
    if not found.items:
        print("No announcements yet.")
    for p in found.items:
        print(_line(p, call))
    return 0


async def announcements_show(call: Call) -> int:
    p = await _one(call, announcement_history.one)
    print(_line(p, call))
    if p.counts.stopped:
        print(f"held back by the Stop: {p.counts.stopped}")
    if p.refused:
        print(f"not sent when due: {REFUSED.get(p.refused, p.refused)}")
    print(("[photo] " if p.has_photo else "") + (f"[{p.template}] " if p.template else "") + p.text)
    return 0


async def announcements_cancel(call: Call) -> int:
    p = await _one(call, announcement_history.cancel)
    print(f"Cancelled: {_line(p, call)}")
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[Call], Awaitable[int]]] = {
    ("announcements", "list"): announcements_list,
    ("announcements", "show"): announcements_show,
    ("announcements", "cancel"): announcements_cancel,
}
