"""What a reseller sees of its self-service renewals: whether its customers may pay their
renewal in Stars, each plan's price and what it converts to, and the price prompt."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.self_pay import PlanPrice, SelfPay
from bot.services.stars import StarsError
from handlers.payments import callbacks
from handlers.payments.views import stars_amount
from handlers.reader import Reader

Screen = tuple[str, InlineKeyboardMarkup | None]


def _plan_line(plan: PlanPrice, r: Reader) -> str:
    t = r.t
    values = {"plan": r.name(plan.name), "cost": r.money(plan.cost)}
    if plan.stars is None:
        return t._("• {plan}: not offered (your cost {cost})", **values)
    if plan.revenue is None or plan.margin is None:
        return t._("• {plan}: {stars} (your cost {cost})",
                   stars=stars_amount(r, plan.stars), **values)  # fmt: skip
    return t._(
        "• {plan}: {stars} = {revenue}, your cost {cost}, your margin {margin}",
        stars=stars_amount(r, plan.stars),
        revenue=r.money(plan.revenue),
        margin=r.money(plan.margin),
        **values,
    )


def screen(settings: SelfPay, r: Reader, problem: str | None = None) -> Screen:
    """The state, the rate, every plan's price and conversion; on/off and a button per plan."""
    t = r.t
    state = t._("Status: <b>on</b>") if settings.enabled else t._("Status: <b>off</b>")
    if settings.rate is None:
        rate = t._("No Stars payment method is set up, so customers cannot pay yet. "
                   "Ask an admin.")  # fmt: skip
    else:
        rate = t._("Rate: 1 Star = {rate}", rate=r.money(settings.rate))
    lines = [
        t._("⭐ <b>Customers pay their renewal in Stars</b>"),
        "",
        state,
        rate,
        "",
        t._(
            "When on, customers whose plan has a price here get “Pay and renew” on their "
            "reminders and /status. Their Stars are credited to you at the rate, then the "
            "renewal charges your usual price: the difference is yours."
        ),
        "",
        *(_plan_line(plan, r) for plan in settings.plans),
    ]
    if problem:
        lines[:0] = [t._("⚠️ {problem}", problem=problem), ""]
    if settings.enabled:
        toggle = keyboards.button(t._("⏸ Turn off"), callbacks.SELF_PAY_OFF.build())
    else:
        toggle = keyboards.button(t._("▶️ Turn on"), callbacks.SELF_PAY_ON.build())
    rows = [[toggle]]
    for plan in settings.plans:
        label = t._("✏️ {plan}", plan=plan.name)
        rows.append([keyboards.button(label, callbacks.SELF_PAY_PRICE.build(plan.plan_id))])
    rows.append([keyboards.button(t._("⬅️ Menu"), keyboards.MENU)])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def price_prompt(
    plan: PlanPrice, rate: int | None, r: Reader, problem: str | None = None
) -> Screen:
    t = r.t
    text = t.n_(
        "Send the price in Stars of <b>{plan}</b> ({n} day) for your customers: a whole "
        "number, or 0 to stop offering it.\nYour cost: {cost}.",
        "Send the price in Stars of <b>{plan}</b> ({n} days) for your customers: a whole "
        "number, or 0 to stop offering it.\nYour cost: {cost}.",
        plan.days,
        plan=r.name(plan.name),
        cost=r.money(plan.cost),
    )
    if rate is not None:
        text += "\n" + t._(
            "At 1 Star = {rate}, the least that covers it is {stars}.",
            rate=r.money(rate),
            stars=stars_amount(r, -(-plan.cost // rate)),
        )
    if problem:
        text = t._("⚠️ {problem}", problem=problem) + "\n\n" + text
    back = keyboards.button(t._("⬅️ Back"), callbacks.SELF_PAY.build())
    return text, InlineKeyboardMarkup([[back]])


def refusal(exc: StarsError, r: Reader) -> str:
    t = r.t
    if exc.code == "not_whole_stars":
        return t._("Send a whole number of Stars, like 150 (0 stops offering the plan).")
    if exc.code == "too_many_stars":
        return t._("That is too many Stars. The most is {n}.", n=r.number(exc.params["maximum"]))
    if exc.code == "below_cost":
        return t._(
            "That is below your cost of {cost}: the least is {stars}.",
            cost=r.money(int(exc.params["cost"])),
            stars=stars_amount(r, int(exc.params["minimum"])),
        )
    if exc.code == "no_rate":
        return t._("No Stars payment method is set up. Ask an admin.")
    if exc.code == "plan_unavailable":
        return t._("That plan is no longer available.")
    return t._("That did not work. Please try again later.")


def price_left(t: Translator) -> str:
    return t._("The price was left as it was.")


def price_timed_out(t: Translator) -> str:
    return t._("No price came in time; it was left as it was.")


def price_replaced(t: Translator) -> str:
    return t._("(Price not changed.)")
