"""``python -m bot self-pay``: an admin sets a reseller's self-service renewals (on/off, a
plan's customer price in Stars) through the same service as the reseller's /selfpay."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.services import plans, self_pay
from bot.services.stars import StarsError

if TYPE_CHECKING:
    from bot.cli.commands import Call


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.cli.args import telegram_id

    sub = commands.add_parser(
        "self-pay", help="customers paying their own renewal in Stars"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)
    show = sub.add_parser("show", help="a reseller's state and prices")
    show.add_argument("--reseller", type=telegram_id, required=True, help="Telegram id")
    for action, text in (("on", "let its customers pay"), ("off", "stop offering it")):
        switch = sub.add_parser(action, help=text)
        switch.add_argument("--reseller", type=telegram_id, required=True, help="Telegram id")
    price = sub.add_parser("price", help="a plan's customer price in whole Stars (0: not offered)")
    price.add_argument("--reseller", type=telegram_id, required=True, help="Telegram id")
    price.add_argument("--plan", required=True, help="the plan's code")
    price.add_argument("--stars", type=_stars, required=True)


def _stars(text: str) -> int:
    try:
        return self_pay.parse_stars(text)
    except StarsError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _print(call: Call, found: self_pay.SelfPay) -> None:
    rate = f"1 Star = {call.money(found.rate)}" if found.rate else "no Stars method set up"
    print(f"Self-service renewals {'on' if found.enabled else 'off'}; {rate}.")
    for p in found.plans:
        price = f"{p.stars} Stars" if p.stars else "not offered"
        if p.revenue is not None and p.margin is not None:
            price += f" = {call.money(p.revenue)}, margin {call.money(p.margin)}"
        print(f"{p.name}\tcost {call.money(p.cost)}\t{price}")


async def self_pay_show(call: Call) -> int:
    _print(call, await self_pay.settings_of(call.db, call.args.reseller))
    return 0


async def self_pay_switch(call: Call) -> int:
    found = await self_pay.set_enabled(
        call.db, telegram_id=call.args.reseller, enabled=call.args.action == "on",
        actor=call.actor, now=call.now,
    )  # fmt: skip
    _print(call, found)
    return 0


async def self_pay_price(call: Call) -> int:
    code = call.args.plan.strip().lower()
    plan = next((p for p in await plans.list_plans(call.db) if p.code == code), None)
    if plan is None:
        raise StarsError("plan_unavailable", f"There is no plan {call.args.plan!r}.")
    found = await self_pay.set_price(
        call.db, telegram_id=call.args.reseller, plan_id=plan.id, stars=call.args.stars,
        actor=call.actor, now=call.now,
    )  # fmt: skip
    _print(call, found)
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[Call], Awaitable[int]]] = {
    ("self-pay", "show"): self_pay_show,
    ("self-pay", "on"): self_pay_switch,
    ("self-pay", "off"): self_pay_switch,
    ("self-pay", "price"): self_pay_price,
}
