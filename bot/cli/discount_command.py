"""``python -m bot discount``: discount codes from the shell (add, list with their uses,
one code's uses, disable), through the same service as the admins' /discounts."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.days import parse_day
from bot.services import discounts
from bot.services.discounts import NewCode
from models import DiscountTarget

if TYPE_CHECKING:
    from bot.cli.commands import Call


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.cli.args import telegram_id

    sub = commands.add_parser("discount", help="discount codes on Stars invoices").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )
    add = sub.add_parser("add", help="add a code")
    add.add_argument("--code", required=True, help="3 to 32 letters, digits, - or _")
    off = add.add_mutually_exclusive_group(required=True)
    off.add_argument("--percent", type=int, help="percent off, 1 to 99")
    off.add_argument("--stars", type=int, help="whole Stars off")
    add.add_argument("--for", dest="target", required=True, choices=["topup", "renewal"])
    add.add_argument("--from", dest="valid_from", type=parse_day, help="first day, YYYY-MM-DD")
    add.add_argument("--until", type=parse_day, help="last day, YYYY-MM-DD")
    add.add_argument("--max-uses", type=int, help="paid uses in all")
    add.add_argument("--max-per-user", type=int, help="paid uses per payer")
    add.add_argument("--plan", help="only for this plan's code")
    add.add_argument("--reseller", type=telegram_id, help="only this reseller (Telegram id)")
    sub.add_parser("list", help="every code with its uses")
    uses = sub.add_parser("uses", help="each paid use of a code")
    uses.add_argument("--code", required=True)
    disable = sub.add_parser("disable", help="stop accepting a code")
    disable.add_argument("--code", required=True)


def _line(d: discounts.Discount) -> str:
    off = f"{d.percent_off}% off" if d.percent_off else f"{d.stars_off} Stars off"
    cap = d.max_uses if d.max_uses is not None else "-"
    state = "" if d.active else "\tdisabled"
    given = f"{d.stars_given} Stars given"
    return f"{d.code}\t{off}\t{d.target.value}\tused {d.uses}/{cap}\t{given}{state}"


async def discount_add(call: Call) -> int:
    a = call.args

    def moment(day: dt.date | None, *, end: bool) -> dt.datetime | None:
        if day is None:
            return None
        start = dt.datetime.combine(day, dt.time(), call.settings.zone)
        return start + dt.timedelta(days=1) if end else start  # "until" includes the day

    new = NewCode(
        code=a.code, target=DiscountTarget(a.target), percent_off=a.percent, stars_off=a.stars,
        valid_from=moment(a.valid_from, end=False), valid_until=moment(a.until, end=True),
        max_uses=a.max_uses, max_uses_per_user=a.max_per_user, plan_code=a.plan,
        reseller_telegram_id=a.reseller,
    )  # fmt: skip
    print("Added " + _line(await discounts.create(call.db, new, actor=call.actor, now=call.now)))
    return 0


async def discount_list(call: Call) -> int:
    found = await discounts.report(call.db)
    if not found:
        print("No discount codes yet.")
    for d in found:
        print(_line(d))
    return 0


async def discount_uses(call: Call) -> int:
    for u in await discounts.uses_of(call.db, call.args.code):
        who = f" ({u.customer})" if u.customer else ""
        print(f"#{u.payment_id}\t{u.payer_telegram_id}{who}\tpaid {u.stars} Stars\t-{u.stars_off}")
    return 0


async def discount_disable(call: Call) -> int:
    d = await discounts.disable(call.db, code=call.args.code, actor=call.actor, now=call.now)
    print("Disabled " + _line(d))
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[Call], Awaitable[int]]] = {
    ("discount", "add"): discount_add,
    ("discount", "list"): discount_list,
    ("discount", "uses"): discount_uses,
    ("discount", "disable"): discount_disable,
}
