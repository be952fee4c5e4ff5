"""``python -m bot payment-method stars``: a Stars payment method, through the same service
as the chat (so the same checks and the same action log)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.services import star_methods, stars

if TYPE_CHECKING:
    from bot.cli.commands import Call


def add_parser(method: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from bot.cli.args import amount, amount_or_zero

    stars = method.add_parser(
        "stars", help="add or change a Telegram Stars method: credits per Star, min and max"
    )
    stars.add_argument("--code", required=True, help="short id, e.g. stars")
    stars.add_argument("--name", required=True, help="what resellers see, e.g. Telegram Stars")
    stars.add_argument(
        "--credits-per-star", type=amount, required=True, help="credits one Star buys, e.g. 2"
    )
    stars.add_argument("--min-credits", type=amount_or_zero, help="smallest Stars top-up")
    stars.add_argument("--max-credits", type=amount, help="largest Stars top-up")


async def method_stars(call: Call) -> int:
    args = call.args
    m = await star_methods.configure(
        call.db, code=args.code, name=args.name, rate=args.credits_per_star,
        min_credits=args.min_credits, max_credits=args.max_credits, actor=call.actor,
        now=call.now,
    )  # fmt: skip
    bounds = ", ".join(
        part
        for part in (
            f"from {call.money(m.min_credits)}" if m.min_credits is not None else "",
            f"up to {call.money(m.max_credits)}" if m.max_credits is not None else "",
        )
        if part
    )
    print(
        f"Stars method {m.code} ({m.name}): 1 Star = {call.money(m.rate)}"
        + (f", {bounds}" if bounds else "")
        + ". Resellers pay it in /topup and get the credits at once."
    )
    return 0


async def described(call: Call, method_id: int) -> str:
    """A Stars method's rate and bounds for ``payment-method list``; "" for another kind."""
    m = await stars.stars_method(call.db, method_id)
    if m is None:
        return ""
    low = call.money(m.min_credits) if m.min_credits is not None else "-"
    high = call.money(m.max_credits) if m.max_credits is not None else "-"
    return f"\tStars: 1 Star = {call.money(m.rate)}, min {low}, max {high}"
