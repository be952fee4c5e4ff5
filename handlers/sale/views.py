"""Every text and keyboard of the sale feature: pure functions of a view model (the
service's frozen views) and the reader, so a screen's words live in one place.

The services' errors come here as a code and plain parameters, never as their English
message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.customers import CustomerPage, PlanView
from bot.services.provisioning import SUBSCRIPTION_URL
from bot.services.sale_quotes import SaleQuote
from bot.services.sale_settlement import SaleResult
from handlers import pages
from handlers.reader import Reader
from handlers.sale import callbacks
from models import OrderKind

Screen = tuple[str, InlineKeyboardMarkup]
PAGE_SIZE = 8


def _cancel_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("✖️ Cancel"), callbacks.CANCEL.build())]


def _menu_row(t: Translator) -> list[InlineKeyboardButton]:
    return [keyboards.button(t._("⬅️ Menu"), keyboards.MENU)]


def _warn(problem: str | None, text: str) -> str:
    return f"⚠️ {problem}\n\n{text}" if problem else text


# --- errors ------------------------------------------------------------------------------


def _errors(r: Reader, p: Mapping[str, str | int]) -> dict[str, Callable[[], str]]:
    t = r.t
    username = r.name(str(p.get("username", "")))
    panel = r.name(str(p.get("panel", "")))
    status = escape(str(p.get("status", "")))
    return {
        "no_such_customer": lambda: t._("You have no such customer."),
        "suspended": lambda: t._("Your reseller account is suspended, so sales are paused."),
        "upline_suspended": lambda: t._(
            "The reseller above you is suspended, so your sales are paused. Contact them."
        ),
        "username_invalid": lambda: t._(
            "A customer username is 3 to 32 characters: letters, digits, '_', '.' or '-', "
            "starting with a letter or digit."
        ),
        "username_taken": lambda: t._(
            "The username {username} is taken. Choose another one.", username=username
        ),
        "plan_unavailable": lambda: t._("That plan is no longer available. Pick another one."),
        "price_changed": lambda: t._(
            "The price of {plan} has changed to {price}; nothing was charged. Check the new "
            "cost below and confirm again.",
            plan=r.name(str(p.get("plan", ""))),
            price=r.money(int(p.get("price", 0))),
        ),
        "sale_in_progress": lambda: t._(
            "This sale is still being processed. Check again in a moment."
        ),
        "renewal_in_progress": lambda: t._(
            "A renewal of {username} is still being processed.", username=username
        ),
        "sale_in_doubt": lambda: t._(
            "The panel did not answer, so it is not known yet whether {username} was "
            "provisioned. The price is held, not charged; the bot checks with the panel and "
            "tells you the outcome.",
            username=username,
        ),
        "earlier_sale_failed": lambda: t._(
            "That sale did not go through; nothing was charged. Start again to retry."
        ),
        "panel_missing": lambda: t._("This plan's panel is not set up here. Nothing was charged."),
        "panel_disabled": lambda: t._(
            "Sorry, panel {panel} is switched off; nothing was charged. Try again later.",
            panel=panel,
        ),
        "panel_down": lambda: t._(
            "Sorry, panel {panel} is not answering; nothing was charged. Try again later.",
            panel=panel,
        ),
        "panel_username_taken": lambda: t._(
            "This username is already taken on panel {panel}. Nothing was charged; "
            "choose another one.",
            panel=panel,
        ),
        "panel_credentials": lambda: t._(
            "Panel {panel} refused the bot's credentials; tell an admin. Nothing was charged.",
            panel=panel,
        ),
        "panel_refused": lambda: (
            t._(
                "The subscription could not be provisioned: panel {panel} refused the "
                "request (HTTP {status}). Nothing was charged.",
                panel=panel,
                status=status,
            )
            if status
            else t._(
                "The subscription could not be provisioned: panel {panel} refused the "
                "request. Nothing was charged.",
                panel=panel,
            )
        ),
        "panel_no_answer": lambda: (
            t._(
                "The subscription could not be provisioned: panel {panel} did not answer "
                "properly (HTTP {status}). Nothing was charged.",
                panel=panel,
                status=status,
            )
            if status
            else t._(
                "The subscription could not be provisioned: panel {panel} did not answer "
                "properly. Nothing was charged.",
                panel=panel,
            )
        ),
        "provider_refused": lambda: t._(
            "The subscription could not be provisioned. Nothing was charged."
        ),
        "provider_timeout": lambda: t._(
            "The subscription could not be provisioned in time. Nothing was charged."
        ),
    }


def error(code: str, params: Mapping[str, str | int], r: Reader) -> str:
    """A refused operation in the reader's words (plain text with escaped values)."""
    found = _errors(r, params).get(code)
    return found() if found else r.t._("Sorry, that could not be done. Nothing was charged.")


def missing(price: int, short: int, r: Reader) -> str:
    return r.t._(
        "⚠️ Not enough credit: this costs {price} and you are {missing} short. "
        "Top up, or pick a cheaper plan.",
        price=r.money(price),
        missing=r.money(short),
    )


def refused(text: str, r: Reader) -> Screen:
    """A sale that cannot go on: what was wrong, and the way back to the menu."""
    return f"⚠️ {text}", InlineKeyboardMarkup([_menu_row(r.t)])


def in_doubt(text: str, r: Reader) -> Screen:
    return f"⏳ {text}", InlineKeyboardMarkup([_menu_row(r.t)])


def short_of_credit(price: int, short: int, r: Reader) -> Screen:
    t = r.t
    return missing(price, short, r), InlineKeyboardMarkup(
        [[keyboards.button(t._("➕ Top up"), keyboards.TOPUP_NEW)], _menu_row(t)]
    )


# --- the flow ----------------------------------------------------------------------------


def ask_username(r: Reader, problem: str | None = None) -> Screen:
    text = r.t._(
        "<b>New customer</b>\nSend the customer's username (3 to 32 characters: letters, "
        "digits, '_', '.' or '-', starting with a letter or digit)."
    )
    return _warn(problem, text), InlineKeyboardMarkup([_cancel_row(r.t)])


def bad_username(given: str, code: str, params: Mapping[str, str | int], r: Reader) -> str:
    """Names the input, so a second mistake changes the screen too."""
    if code == "username_invalid":
        return r.t._("“{given}” is not a valid username.", given=escape(given))
    return error(code, params, r)


def not_text(r: Reader) -> str:
    return r.t._("Send the username as text.")


def customer_picker(found: CustomerPage, search: str | None, r: Reader) -> Screen:
    t = r.t
    rows = [
        [keyboards.button(f"{c.username} · {r.date(c.expires_at)}",
                          callbacks.PICK_CUSTOMER.build(c.id))]
        for c in found.customers
    ]  # fmt: skip
    nav = []
    if found.page > 0:
        nav.append(keyboards.button("◀️", callbacks.CUSTOMER_PAGE.build(found.page - 1)))
    if found.page < found.pages - 1:
        nav.append(keyboards.button("▶️", callbacks.CUSTOMER_PAGE.build(found.page + 1)))
    if nav:
        rows.append(nav)
    rows.append(_cancel_row(t))
    at = {"page": t.number(found.page + 1), "pages": t.number(found.pages)}
    if found.total and search:
        text = t._(
            "<b>Renew</b>\nPick the customer matching “{search}” (soonest expiry first, "
            "page {page} of {pages}), or send part of a username to search.",
            search=escape(search),
            **at,
        )
    elif found.total:
        text = t._(
            "<b>Renew</b>\nPick the customer (soonest expiry first, page {page} of {pages}), "
            "or send part of a username to search.",
            **at,
        )
    elif search:
        text = t._(
            "<b>Renew</b>\nNo customers matching “{search}”. "
            "Send part of a username to search again.",
            search=escape(search),
        )
    else:
        text = t._("<b>Renew</b>\nNo customers. Send part of a username to search again.")
    # The customers are the buttons; the text only says which page and what was searched.
    return pages.fit(text.split("\n")), InlineKeyboardMarkup(rows)


def _days(days: int, t: Translator) -> str:
    return t.n_("{n} day", "{n} days", days)


def _plans_rows(plans: list[PlanView], r: Reader) -> list[list[InlineKeyboardButton]]:
    t = r.t
    rows = [
        [keyboards.button(
            t._("{plan} · {days} · {price}", plan=p.name, days=_days(p.days, t),
                price=t.amount(p.price, r.currency)),
            callbacks.PLAN.build(p.id),
        )]
        for p in plans
    ]  # fmt: skip
    rows.append(_cancel_row(t))
    return rows


def _title(kind: OrderKind, username: str, r: Reader) -> str:
    if kind == OrderKind.ACTIVATION:
        return r.t._("<b>New customer: {username}</b>", username=r.name(username))
    return r.t._("<b>Renew: {username}</b>", username=r.name(username))


def no_plans(r: Reader) -> Screen:
    return r.t._("No plans are available yet. Contact an admin."), InlineKeyboardMarkup(
        [_menu_row(r.t)]
    )


def plans(
    kind: OrderKind, username: str, plans: list[PlanView], r: Reader, problem: str | None = None
) -> Screen:
    text = f"{_title(kind, username, r)}\n{r.t._('Pick a plan:')}"
    return _warn(problem, text), InlineKeyboardMarkup(_plans_rows(plans, r))


def plans_short_of_credit(
    kind: OrderKind, username: str, q: SaleQuote, plans: list[PlanView], r: Reader
) -> Screen:
    top_up = [keyboards.button(r.t._("➕ Top up"), keyboards.TOPUP_NEW)]
    text = f"{missing(q.price, q.missing, r)}\n\n{_title(kind, username, r)}"
    return text, InlineKeyboardMarkup([top_up, *_plans_rows(plans, r)])


def confirmation(
    kind: OrderKind,
    username: str,
    q: SaleQuote,
    nonce: str,
    r: Reader,
    problem: str | None = None,
) -> Screen:
    t = r.t
    values = {
        "username": r.name(username),
        "plan": escape(q.plan.name),
        "days": _days(q.plan.days, t),
        "cost": r.money(q.price),
        "now": r.money(q.available_now),
        "after": r.money(q.available_after),
        "expiry": r.date(q.expires_at),
    }
    if kind == OrderKind.ACTIVATION:
        text = t._(
            "<b>Confirm activation</b>\nCustomer: {username}\nPlan: {plan} ({days})\n"
            "Cost: <b>{cost}</b>\nAvailable: {now} → {after}\nNew expiry: <b>{expiry}</b>",
            **values,
        )
    else:
        text = t._(
            "<b>Confirm renewal</b>\nCustomer: {username}\nPlan: {plan} ({days})\n"
            "Cost: <b>{cost}</b>\nAvailable: {now} → {after}\nNew expiry: <b>{expiry}</b>",
            **values,
        )
    confirm = keyboards.button(t._("✅ Confirm"), callbacks.CONFIRM.build(nonce))
    return _warn(problem, text), InlineKeyboardMarkup([[confirm, *_cancel_row(t)]])


def result(done: SaleResult, invite_link: str | None, r: Reader) -> Screen:
    t, c = r.t, done.customer
    values = {"username": r.name(c.username), "expiry": r.date(c.expires_at)}
    if done.kind == OrderKind.ACTIVATION:
        first = t._("✅ <b>{username} activated</b> until {expiry}", **values)
    else:
        first = t._("✅ <b>{username} renewed</b> until {expiry}", **values)
    head = "\n".join(
        [
            first,
            t._("Plan: {plan} ({days})", plan=escape(c.plan.name), days=_days(c.plan.days, t)),
            t._(
                "Charged: {price} · available now {available}",
                price=r.money(done.price),
                available=r.money(done.balance.available),
            ),
        ]
    )
    link = ""
    if done.kind == OrderKind.ACTIVATION and invite_link:
        link = "\n\n" + t._(
            "Send this invite link to the customer; it links their Telegram chat to the "
            "subscription for status and reminders:\n{link}",
            link=escape(invite_link),
        )
    labels = {
        SUBSCRIPTION_URL: t._("Subscription link"),
        "username": t._("Username"),
        "password": t._("Password"),
    }
    details = [
        f"{escape(labels.get(key, key))}: <code>{escape(value)}</code>"
        for key, value in c.details.items()
    ]
    keyboard = InlineKeyboardMarkup(
        [[keyboards.button(t._("👤 Customer card"), callbacks.CARD.build(c.id)), *_menu_row(t)]]
    )
    if not details:
        return head + link, keyboard
    # What the provider returned is cut if it must, never the invite link.
    room = pages.TEXT_LIMIT - pages.length(head + link) - 1
    return f"{head}\n{pages.fit(details, room)}{link}", keyboard


def qr_caption(username: str, r: Reader) -> str:
    return r.t._("QR code of {username}'s subscription link", username=r.name(username))


def working(t: Translator) -> str:
    return t._("Working on it…")


def already_done(t: Translator) -> str:
    return t._("Already done: nothing more was charged.")


def no_longer_valid(t: Translator) -> str:
    return t._("This confirmation is no longer valid.")


def cancelled(t: Translator) -> str:
    return t._("Cancelled. Nothing was charged.")


def timed_out(t: Translator) -> str:
    return t._("⏱ This step timed out; nothing was charged. Start again from /start.")


def tap_a_button(t: Translator) -> str:
    return t._("Tap one of the buttons above, or /cancel.")


def replaced(t: Translator) -> str:
    return t._("⏹ Sale cancelled: you started something else. Nothing was charged.")


def menu(t: Translator) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([_menu_row(t)])
