"""``python -m bot pricelist``: the business's price lists from the shell, through the
same service as the admins' Price lists screens (so the same rules and action log).

A reseller on a list pays the list's price for a plan (a fixed price, or a percentage
off the base price); a reseller on no list pays the base prices.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from bot.money import format_number
from bot.services import price_list_reads, price_lists
from bot.services.price_lists import PlanPrice, PriceListError

if TYPE_CHECKING:
    from bot.cli.commands import Call


def _percent(text: str) -> int:
    try:
        return price_lists.parse_percent(text)
    except PriceListError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _list_name(text: str) -> str:
    try:
        return price_lists.check_name(text)
    except PriceListError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pricelist = commands.add_parser(
        "pricelist", help="price lists: what the resellers on each pay for a plan"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)
    add = pricelist.add_parser("add", help="a new list")
    add.add_argument("name", type=_list_name, metavar="NAME")
    add.add_argument(
        "--percent-off", type=_percent, default=0,
        help="percentage off the base price of plans without their own price (default 0)",
    )  # fmt: skip
    pricelist.add_parser("list", help="the lists and how many resellers are on each")
    show = pricelist.add_parser("show", help="a list's price for each plan")
    show.add_argument("name", metavar="NAME")
    put = pricelist.add_parser("set", help="a plan's price on a list: 12.50, or 10%% off")
    put.add_argument("name", metavar="NAME")
    put.add_argument("plan", metavar="PLAN_CODE")
    put.add_argument("value", metavar="PRICE|P%")
    clear = pricelist.add_parser("clear", help="the plan follows the list's percentage again")
    clear.add_argument("name", metavar="NAME")
    clear.add_argument("plan", metavar="PLAN_CODE")
    remove = pricelist.add_parser("remove", help="delete a list nobody is on")
    remove.add_argument("name", metavar="NAME")
    assign = pricelist.add_parser(
        "assign", help="put a reseller on a list, or (--base) back on the base prices"
    )
    assign.add_argument("name", nargs="?", metavar="NAME")
    from bot.cli.args import telegram_id  # the same range check as every command

    assign.add_argument("--telegram-id", type=telegram_id, required=True, metavar="ID")
    assign.add_argument("--base", action="store_true", help="back to the base prices")


def _pct(hundredths: int) -> str:
    return f"{format_number(hundredths)}%"


def _how(p: PlanPrice) -> str:
    if p.fixed is not None:
        return "fixed"
    if p.percent is not None:
        return f"{_pct(p.percent)} off"
    return "list percentage"


async def pricelist_add(call: Call) -> int:
    view = await price_lists.create_list(
        call.db, name=call.args.name, percent_off=call.args.percent_off, actor=call.actor,
        now=call.now,
    )  # fmt: skip
    print(
        f"Price list {view.name} added: {_pct(view.percent_off)} off the base price of "
        "plans without their own price."
    )
    return 0


async def pricelist_list(call: Call) -> int:
    found = await price_list_reads.lists(call.db)
    if not found:
        print("No price lists yet.")
    for view in found:
        print(f"{view.name}\t{_pct(view.percent_off)} off\t{view.resellers} reseller(s)")
    return 0


async def pricelist_show(call: Call) -> int:
    view = await price_list_reads.find_list(call.db, name=call.args.name)
    card = await price_list_reads.card(call.db, list_id=view.id)
    print(
        f"{view.name}: {_pct(view.percent_off)} off plans without their own price, "
        f"{view.resellers} reseller(s) on it"
    )
    for p in card.plans:
        print(f"{p.code}\t{p.name}\tbase {call.money(p.base)}\t{call.money(p.price)}\t{_how(p)}")
    return 0


async def pricelist_set(call: Call) -> int:
    args = call.args
    typed = price_lists.parse_entry(args.value)
    view = await price_list_reads.find_list(call.db, name=args.name)
    plan_id = await price_list_reads.plan_by_code(call.db, args.plan)
    card = await price_lists.set_entry(
        call.db, list_id=view.id, plan_id=plan_id, price=typed.price,
        percent_off=typed.percent_off, actor=call.actor, now=call.now,
    )  # fmt: skip
    p = next(p for p in card.plans if p.plan_id == plan_id)
    print(f"{p.code} on {view.name}: {call.money(p.price)} (base {call.money(p.base)}).")
    return 0


async def pricelist_clear(call: Call) -> int:
    args = call.args
    view = await price_list_reads.find_list(call.db, name=args.name)
    plan_id = await price_list_reads.plan_by_code(call.db, args.plan)
    card = await price_lists.clear_entry(
        call.db, list_id=view.id, plan_id=plan_id, actor=call.actor, now=call.now
    )
    p = next(p for p in card.plans if p.plan_id == plan_id)
    print(f"{p.code} on {view.name} follows the list's percentage: {call.money(p.price)}.")
    return 0


async def pricelist_remove(call: Call) -> int:
    view = await price_list_reads.find_list(call.db, name=call.args.name)
    await price_lists.delete_list(call.db, list_id=view.id, actor=call.actor, now=call.now)
    print(f"Price list {view.name} removed.")
    return 0


async def pricelist_assign(call: Call) -> int:
    args = call.args
    if args.base == (args.name is not None):
        raise PriceListError("bad_assign", "name a list, or give --base (not both)")
    list_id = None
    if args.name is not None:
        list_id = (await price_list_reads.find_list(call.db, name=args.name)).id
    who = await price_lists.assign(
        call.db, reseller_telegram_id=args.telegram_id, list_id=list_id, actor=call.actor,
        now=call.now,
    )  # fmt: skip
    on = f"the prices of {who.list_name}" if who.list_name else "the base prices"
    print(f"{who.name} ({who.telegram_id}) now pays {on}.")
    return 0


COMMANDS: dict[tuple[str, str | None], Callable[[Call], Awaitable[int]]] = {
    ("pricelist", "add"): pricelist_add,
    ("pricelist", "list"): pricelist_list,
    ("pricelist", "show"): pricelist_show,
    ("pricelist", "set"): pricelist_set,
    ("pricelist", "clear"): pricelist_clear,
    ("pricelist", "remove"): pricelist_remove,
    ("pricelist", "assign"): pricelist_assign,
}
