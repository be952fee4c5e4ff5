"""What the price-list screens say: the admins' lists, a parent's /prices, a list with
each plan's prices, the prompts of the form and who is on which list. Pure functions of
the price-list service's frozen views and the reader."""

from __future__ import annotations

from collections.abc import Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.price_lists import ListCard, ListView, Member, ParentPrices, PlanPrice
from bot.services.price_lists import PriceListError as Refusal
from handlers import pages
from handlers.admin import callbacks as admin_callbacks
from handlers.common import clip
from handlers.pricelists import callbacks as cb
from handlers.pricelists.callbacks import Scope
from handlers.reader import Reader
from handlers.views import reseller_suspended

Screen = tuple[str, InlineKeyboardMarkup]
MAX_BUTTONS = 40  # lists, plans or sub-resellers shown as buttons on one screen


def _noted(text: str, note: str | None) -> str:
    return f"{text}\n\n{note}" if note else text


def _row(text: str, data: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text, callback_data=data)]


def percent(hundredths: int, r: Reader) -> str:
    """A percentage kept in hundredths of a percent: ``10%``, ``12.50%``."""
    if hundredths % 100 == 0:
        return r.t.number(hundredths // 100) + "%"
    return r.t.amount(hundredths, "").strip() + "%"


def _back_home(scope: Scope, t: Translator) -> list[InlineKeyboardButton]:
    if scope == Scope.ADMIN:
        return _row(t._("⬅️ Price lists"), cb.HOME.build(scope))
    return _row(t._("⬅️ My prices"), cb.HOME.build(scope))


def _list_line(view: ListView, r: Reader) -> str:
    return r.t.n_(
        "• {name}: {percent} off, {n} reseller",
        "• {name}: {percent} off, {n} resellers",
        view.resellers,
        name=r.name(view.name),
        percent=percent(view.percent_off, r),
    )


def admin_home(rows: Sequence[ListView], r: Reader, note: str | None = None) -> Screen:
    """The business's lists, with how many resellers are on each."""
    t = r.t
    lines = [
        t._(
            "🏷 <b>Price lists</b>\nA reseller on a list pays its price for each plan; "
            "a reseller on no list pays the base prices."
        ),
        "",
    ]
    lines += [_list_line(v, r) for v in rows] or [t._("No price lists yet.")]
    keyboard = [_row(f"🏷 {v.name}", cb.CARD.build(Scope.ADMIN, v.id)) for v in rows]
    keyboard = keyboard[:MAX_BUTTONS]
    keyboard.append(_row(t._("➕ New price list"), cb.NEW.build(Scope.ADMIN)))
    keyboard.append(_row(t._("⬅️ Catalogue"), keyboards.ADMIN_CATALOGUE))
    return _noted(pages.fit(lines), note), InlineKeyboardMarkup(keyboard)


def parent_home(prices: ParentPrices, r: Reader, note: str | None = None) -> Screen:
    """A parent's own cost per plan, its lists, and which list each sub-reseller is on."""
    t = r.t
    lines = [t._("🏷 <b>My prices</b>\nWhat you pay for each plan:")]
    lines += [
        t._("• {plan}: {price}", plan=r.name(p.name), price=r.money(p.cost)) for p in prices.costs
    ] or [t._("No plans on offer.")]
    lines += ["", t._("Your price lists for your sub-resellers:")]
    lines += [_list_line(v, r) for v in prices.lists] or [t._("No price lists yet.")]
    keyboard = [_row(f"🏷 {v.name}", cb.CARD.build(Scope.PARENT, v.id)) for v in prices.lists]
    keyboard.append(_row(t._("➕ New price list"), cb.NEW.build(Scope.PARENT)))
    for child in prices.children:
        on = child.list_name or t._("base prices")
        keyboard.append(
            _row(f"👤 {child.name}: {on}", cb.RESELLER.build(Scope.PARENT, child.telegram_id))
        )
    keyboard = keyboard[:MAX_BUTTONS]
    keyboard.append([keyboards.button(t._("⬅️ Menu"), keyboards.MENU)])
    return _noted(pages.fit(lines), note), InlineKeyboardMarkup(keyboard)


def _plan_line(p: PlanPrice, scope: Scope, r: Reader) -> str:
    t = r.t
    if p.fixed is not None:
        how = t._("fixed")
    elif p.percent is not None:
        how = t._("{percent} off", percent=percent(p.percent, r))
    else:
        how = t._("the list's percentage")
    if scope == Scope.ADMIN:
        return t._(
            "• {plan}: base {base} → <b>{price}</b> ({how})",
            plan=r.name(p.name), base=r.money(p.base), price=r.money(p.price), how=how,
        )  # fmt: skip
    return t._(
        "• {plan}: base {base}, your cost {cost} → <b>{price}</b> ({how})",
        plan=r.name(p.name), base=r.money(p.base), cost=r.money(p.cost),
        price=r.money(p.price), how=how,
    )  # fmt: skip


def list_card(card: ListCard, scope: Scope, r: Reader, note: str | None = None) -> Screen:
    """One list: each plan's base price (and a parent's cost) and its price on the list."""
    t, v = r.t, card.price_list
    lines = [
        f"🏷 <b>{r.name(v.name)}</b>",
        t._("Plans without their own price: {percent} off the base price.",
            percent=percent(v.percent_off, r)),
        t.n_("{n} reseller is on this list.", "{n} resellers are on this list.",
             v.resellers),
        "",
    ]  # fmt: skip
    lines += [_plan_line(p, scope, r) for p in card.plans] or [t._("No plans on offer.")]
    keyboard = [
        _row(t._("✏️ {plan}", plan=p.name), cb.SET.build(scope, v.id, p.plan_id))
        for p in card.plans[:MAX_BUTTONS]
    ]
    keyboard.append(
        [
            InlineKeyboardButton(t._("✏️ Rename"), callback_data=cb.RENAME.build(scope, v.id)),
            InlineKeyboardButton(t._("🗑 Delete"), callback_data=cb.DELETE.build(scope, v.id)),
        ]
    )
    keyboard.append(_back_home(scope, t))
    return _noted(pages.fit(lines), note), InlineKeyboardMarkup(keyboard)


def confirm_delete(view: ListView, scope: Scope, r: Reader) -> Screen:
    t = r.t
    text = t._("🗑 Delete the price list {name}? Its prices are removed.", name=r.name(view.name))
    return text, InlineKeyboardMarkup(
        [
            _row(t._("🗑 Yes, delete it"), cb.DELETE_YES.build(scope, view.id)),
            _row(t._("⬅️ Back"), cb.CARD.build(scope, view.id)),
        ]
    )


def chooser(
    who: Member, options: Sequence[ListView], scope: Scope, r: Reader, note: str | None = None
) -> Screen:
    """The lists a reseller can be put on; the one it is on is ticked."""
    t = r.t
    now_on = r.name(who.list_name) if who.list_name else t._("base prices")
    text = t._(
        "🏷 <b>Price list of {name}</b>\nNow: {list}. Choose what they pay:",
        name=r.name(who.name), list=now_on,
    )  # fmt: skip

    def tick(on: bool, label: str) -> str:
        return ("✅ " if on else "") + label

    keyboard = [
        _row(tick(who.price_list_id is None, t._("Base prices")),
             cb.PUT.build(scope, who.telegram_id, 0)),
    ]  # fmt: skip
    keyboard += [
        _row(tick(who.price_list_id == v.id, v.name), cb.PUT.build(scope, who.telegram_id, v.id))
        for v in options[:MAX_BUTTONS]
    ]
    if scope == Scope.ADMIN:
        keyboard.append(_row(t._("⬅️ Back"), admin_callbacks.CARD.build(who.telegram_id)))
    else:
        keyboard.append(_back_home(scope, t))
    return _noted(text, note), InlineKeyboardMarkup(keyboard)


# --- the form ------------------------------------------------------------------------------


def _cancel(scope: Scope, t: Translator) -> list[InlineKeyboardButton]:
    return _row(t._("✖️ Cancel"), cb.CANCEL.build(scope))


def ask_name(scope: Scope, r: Reader, problem: str | None = None) -> Screen:
    text = r.t._("➕ <b>New price list</b>\nSend its name, for example <i>Gold</i>.")
    return _noted(text, problem), InlineKeyboardMarkup([_cancel(scope, r.t)])


def ask_rename(view: ListView, scope: Scope, r: Reader, problem: str | None = None) -> Screen:
    text = r.t._("✏️ Send the new name of the price list {name}.", name=r.name(view.name))
    return _noted(text, problem), InlineKeyboardMarkup([_cancel(scope, r.t)])


def ask_percent(name: str, scope: Scope, r: Reader, problem: str | None = None) -> Screen:
    text = r.t._(
        "🏷 <b>{name}</b>\nHow much off the base price for plans without their own price? "
        "Send a percentage, for example <code>10</code> or <code>12.5</code>; "
        "<code>0</code> keeps the base prices.",
        name=r.name(name),
    )
    return _noted(text, problem), InlineKeyboardMarkup([_cancel(scope, r.t)])


def ask_price(
    card: ListCard, plan: PlanPrice, scope: Scope, r: Reader, problem: str | None = None
) -> Screen:
    t = r.t
    lines = [
        t._("✏️ <b>{plan}</b> on {name}", plan=r.name(plan.name), name=r.name(card.price_list.name)),
        _plan_line(plan, scope, r),
        "",
        t._(
            "Send the price, for example <code>12.50</code>, or a percentage off the base "
            "price, for example <code>10%</code>."
        ),
    ]
    if scope == Scope.PARENT:
        lines.append(t._("It cannot be below your own cost, {cost}.", cost=r.money(plan.cost)))
    keyboard = []
    if plan.fixed is not None or plan.percent is not None:
        keyboard.append(
            _row(t._("🧹 Use the list's percentage"),
                 cb.CLEAR.build(scope, card.price_list.id, plan.plan_id))
        )  # fmt: skip
    keyboard.append(_cancel(scope, t))
    return _noted("\n".join(lines), problem), InlineKeyboardMarkup(keyboard)


def refused(text: str, r: Reader) -> Screen:
    """Why not, on the flow's message, with the way back to the menu."""
    return text, keyboards.back_to_menu(r.t)


def no_plan(t: Translator) -> str:
    return t._("That plan is no longer on offer.")


def not_text(t: Translator) -> str:
    return t._("Send it as a text message, please.")


# --- what was done, and why not ----------------------------------------------------------------


def created(view: ListView, r: Reader) -> str:
    return r.t._("✅ Price list {name} created.", name=r.name(view.name))


def renamed(view: ListView, r: Reader) -> str:
    return r.t._("✅ Renamed to {name}.", name=r.name(view.name))


def deleted(view: ListView, r: Reader) -> str:
    return r.t._("✅ Price list {name} deleted.", name=r.name(view.name))


def price_set(plan: PlanPrice, r: Reader) -> str:
    return r.t._("✅ {plan} now costs {price} on this list.",
                 plan=r.name(plan.name), price=r.money(plan.price))  # fmt: skip


def cleared(plan: PlanPrice, r: Reader) -> str:
    return r.t._("✅ {plan} follows the list's percentage again: {price}.",
                 plan=r.name(plan.name), price=r.money(plan.price))  # fmt: skip


def assigned(who: Member, r: Reader) -> str:
    if who.list_name is None:
        return r.t._("✅ {name} now pays the base prices.", name=r.name(who.name))
    return r.t._("✅ {name} is now on {list}.", name=r.name(who.name), list=r.name(who.list_name))


def cancelled(t: Translator) -> str:
    return t._("Price list change cancelled. Nothing was changed.")


def timed_out(t: Translator) -> str:
    return t._("⌛ The price list change timed out. Nothing was changed.")


def answered(typed: str, exc: Refusal, r: Reader) -> str:
    """A refusal of a typed answer, quoting it, so a second bad answer is seen too."""
    quoted = r.t._("You sent: {text}", text=r.name(clip(typed)))
    return f"{quoted}\n{problem(exc, r)}"


def problem(exc: Refusal, r: Reader) -> str:
    """A refusal of the price-list service, in the reader's words."""
    t, p = r.t, exc.params
    if exc.code == "below_cost":
        return t._(
            "⚠️ That is below your own cost for {plan}: the price must be at least {minimum}.",
            plan=r.name(str(p["plan"])), minimum=r.money(int(str(p["minimum"]))),
        )  # fmt: skip
    if exc.code == "percent_too_high":
        return t._(
            "⚠️ That takes {plan} below your own cost, {minimum}: at most {maximum} off "
            "keeps it at your cost.",
            plan=r.name(str(p["plan"])), minimum=r.money(int(str(p["minimum"]))),
            maximum=percent(int(str(p["maximum"])), r),
        )  # fmt: skip
    if exc.code == "list_in_use":
        return t.n_(
            "⚠️ {n} reseller is on this list: move them to another list first.",
            "⚠️ {n} resellers are on this list: move them to another list first.",
            int(str(p["count"])),
        )  # fmt: skip
    texts = {
        "bad_name": t._("⚠️ A name is 1 to 64 characters. Send another one."),
        "name_taken": t._("⚠️ You already have a price list with that name. Send another one."),
        "bad_percent": t._("⚠️ Send a percentage from 0 up to (not including) 100, like 10."),
        "bad_price": t._(
            "⚠️ That is not a price or a percentage. Send an amount with at most two "
            "decimals, like 12.50, or a percentage, like 10%."
        ),
        "not_a_parent": t._("Only resellers allowed sub-resellers keep price lists."),
        "suspended": reseller_suspended(t),
        "no_reseller": t._("That reseller is not one of yours."),
        "no_plan": no_plan(t),
    }
    return texts.get(exc.code, t._("That price list no longer exists."))
