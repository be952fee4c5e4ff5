"""``python -m bot log``: the action log, one line per action, newest first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.money import format_number
from bot.services import admin_log
from bot.services.admin_log import ActionError, LogFilter, LoggedAction

if TYPE_CHECKING:
    from bot.cli.commands import Call

# Values kept in hundredths (credits or prices), written with two decimals.
AMOUNTS = frozenset(
    {"amount", "balance", "owed", "credits", "credit_limit", "limit", "threshold", "thr",
     "price", "unit_price", "min_total", "min_credits"}
)  # fmt: skip


def _value(name: str, value: Any) -> str:
    if name in AMOUNTS and isinstance(value, int) and not isinstance(value, bool):
        return format_number(value)
    if isinstance(value, dict):
        return ",".join(f"{k}:{v}" for k, v in value.items()) or "-"
    return "-" if value is None else str(value)


def details(before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    """``name=value`` for what an action set, ``name=old->new`` for what it changed."""
    parts = []
    for name in dict.fromkeys([*before, *after]):
        if name == "admin_name":
            continue
        if name in before and name in after:
            old, new = _value(name, before[name]), _value(name, after[name])
            parts.append(f"{name}={new}" if old == new else f"{name}={old}->{new}")
        elif name in after:
            parts.append(f"{name}={_value(name, after[name])}")
        else:
            parts.append(f"{name}={_value(name, before[name])}->")
    return " ".join(parts)


def line(action: LoggedAction, zone: dt.tzinfo) -> str:
    when = action.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    who = action.actor if action.actor_name is None else f"{action.actor} ({action.actor_name})"
    whom = "-"
    if action.reseller_id is not None:
        whom = f"{action.reseller_name or '?'} (#{action.reseller_id})"
    reason = f'\t"{action.reason}"' if action.reason else ""
    return f"{when}\t{who}\t{action.action}\t{whom}\t{details(action.before, action.after)}{reason}"


def _moment(day: dt.date | None, zone: dt.tzinfo, *, after: bool = False) -> dt.datetime | None:
    """The start of ``day`` in the operator's zone (of the next day, for an ``--until``)."""
    if day is None:
        return None
    start = dt.datetime.combine(day + dt.timedelta(days=1 if after else 0), dt.time(), zone)
    return start.astimezone(dt.UTC)


async def log(call: Call) -> int:
    args, zone = call.args, call.settings.zone
    if args.since and args.until and args.until < args.since:
        raise ActionError("bad_dates", "--until is before --since")
    reseller_id = None
    if args.reseller is not None:
        reseller_id = await admin_log.reseller_id_of(call.db, args.reseller)
        if reseller_id is None:
            raise ActionError("no_reseller", f"no reseller with Telegram id {args.reseller}")
    actor = args.actor
    if actor is not None and actor.isdigit():
        actor = f"tg:{actor}"  # an admin named by their Telegram id
    chosen = LogFilter(
        actor=actor,
        reseller_id=reseller_id,
        action=args.kind,
        since=_moment(args.since, zone),
        until=_moment(args.until, zone, after=True),
    )
    found = await admin_log.latest(call.db, chosen, limit=args.limit)
    if not found:
        print("No actions logged" + (" that match." if chosen != LogFilter() else " yet."))
    for action in found:
        print(line(action, zone))
    return 0
