"""What the catalogue form says: the question for each field with its rules, the summary
with Save, and every refusal, in the reader's words."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.i18n import Translator
from bot.money import AmountError
from bot.services import plans, pricing
from bot.services.plans import PlanError
from bot.services.pricing import PricingError
from handlers.admin.catalogue_callbacks import CANCEL, SAVE, Field, Kind
from handlers.reader import Reader
from handlers.topup import views as topup_views

Screen = tuple[str, InlineKeyboardMarkup]
Value = str | int


def _cancel(t: Translator) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(t._("✖️ Cancel"), callback_data=CANCEL.build())]


def _title(kind: Kind, name: str | None, t: Translator, r: Reader) -> str:
    if name is None:
        titles = {
            Kind.PLAN: t._("<b>New plan</b>"),
            Kind.TIER: t._("<b>New price tier</b>"),
            Kind.METHOD: t._("<b>New payment method</b>"),
        }
        return titles[kind]
    if kind == Kind.TIER:  # a tier has no name
        return t._("<b>Edit the price tier</b>")
    return t._("<b>Edit {name}</b>", name=r.name(name))


def question(field: Field, kind: Kind, r: Reader) -> str:
    t = r.t
    if field == Field.CODE:
        return t._(
            "Send a short code: 1 to 32 lowercase letters, digits, '-' or '_', "
            "like iptv-1m. It cannot be changed later."
        )
    if field == Field.NAME:
        limit = plans.MAX_NAME if kind == Kind.PLAN else pricing.MAX_METHOD_NAME
        return t._(
            "Send the name resellers will see, at most {limit} characters.",
            limit=r.number(limit),
        )
    if field == Field.DAYS:
        return t._(
            "Send how many days it lasts: a whole number from 1 to {limit}.",
            limit=r.number(plans.MAX_DAYS),
        )
    if field == Field.PRICE:
        return t._("Send the price in credits, like 10 or 10.50.")
    if field == Field.MIN_CREDITS:
        return t._("Send from how many credits this tier applies, like 0, 100 or 500.")
    if field == Field.UNIT_PRICE:
        return t._(
            "Send what one credit costs in this tier, in {currency}, like 0.95.",
            currency=escape(r.price_currency),
        )
    if field == Field.INSTRUCTIONS:
        return t._(
            "Send the instructions resellers will read before they pay (the account, the "
            "address, the reference to write), at most {limit} characters.",
            limit=r.number(pricing.MAX_INSTRUCTIONS),
        )
    return t._(
        "Send the smallest payment this method accepts, in {currency}, like 10, or 0 for "
        "no minimum.",
        currency=escape(r.price_currency),
    )


def label(field: Field, t: Translator) -> str:
    labels = {
        Field.CODE: t._("Code"),
        Field.NAME: t._("Name"),
        Field.DAYS: t._("Duration"),
        Field.PRICE: t._("Price"),
        Field.MIN_CREDITS: t._("From"),
        Field.UNIT_PRICE: t._("Price per credit"),
        Field.INSTRUCTIONS: t._("Instructions"),
        Field.MIN_TOTAL: t._("Minimum payment"),
    }
    return labels[field]


def shown(field: Field, value: Value, r: Reader) -> str:
    """A field's value as the summary writes it."""
    if field in (Field.PRICE, Field.MIN_CREDITS):
        return r.money(int(value))
    if field in (Field.UNIT_PRICE, Field.MIN_TOTAL):
        return r.price(int(value))
    if field == Field.DAYS:
        return r.t.n_("{n} day", "{n} days", int(value))
    if field == Field.INSTRUCTIONS:
        return "\n" + escape(str(value))
    return r.name(str(value))


def prompt(
    kind: Kind,
    field: Field,
    name: str | None,
    current: Value | None,
    r: Reader,
    problem: str | None = None,
) -> Screen:
    """Ask for one field; ``name`` is the row being edited (None: a new one)."""
    t = r.t
    lines = [_title(kind, name, t, r), question(field, kind, r)]
    if current is not None:
        lines.append(t._("Now: {value}", value=shown(field, current, r)))
    text = "\n\n".join(lines)
    if problem:
        text = t._("⚠️ {problem}", problem=problem) + "\n\n" + text
    return text, InlineKeyboardMarkup([_cancel(t)])


def summary(
    kind: Kind,
    name: str | None,
    rows: Sequence[tuple[Field, Value | None, Value]],
    nonce: str,
    r: Reader,
) -> Screen:
    """Each field as it was (None for a new row) and as it will be; Save or Cancel."""
    t = r.t
    lines = [_title(kind, name, t, r)]
    for field, before, after in rows:
        if before is None:
            lines.append(
                t._("{field}: {value}", field=label(field, t), value=shown(field, after, r))
            )
        else:
            lines.append(
                t._(
                    "{field}: {before} → <b>{after}</b>",
                    field=label(field, t),
                    before=shown(field, before, r),
                    after=shown(field, after, r),
                )
            )
    lines.append(t._("Save?"))
    save = [InlineKeyboardButton(t._("💾 Save"), callback_data=SAVE.build(nonce))]
    return "\n".join(lines[:1]) + "\n\n" + "\n".join(lines[1:]), InlineKeyboardMarkup(
        [save, _cancel(t)]
    )


def removal(line: str, nonce: str, r: Reader) -> Screen:
    t = r.t
    text = t._(
        "<b>Remove this price tier?</b>\n{tier}\n\nAmounts it priced will be priced by the tier "
        "below it, if any.",
        tier=line,
    )
    save = [InlineKeyboardButton(t._("🗑 Remove"), callback_data=SAVE.build(nonce))]
    return text, InlineKeyboardMarkup([save, _cancel(t)])


# --- refusals ---------------------------------------------------------------------------


def amount_problem(exc: AmountError, r: Reader) -> str:
    return topup_views.amount_problem(exc, r)


def plan_problem(exc: PlanError, r: Reader) -> str:
    t, p = r.t, exc.params
    texts = {
        "bad_code": lambda: t._(
            "A code is 1 to 32 lowercase letters, digits, '-' or '_', like iptv-1m."
        ),
        "plan_exists": lambda: t._(
            "There is already a plan with the code {code}. Send another.",
            code=r.name(str(p.get("plan", ""))),
        ),
        "bad_name": lambda: t._(
            "A name is 1 to {limit} characters; that one has {length}.",
            limit=r.number(int(str(p.get("limit", plans.MAX_NAME)))),
            length=r.number(int(str(p.get("length", 0)))),
        ),
        "bad_days": lambda: t._(
            "The duration is a whole number of days from 1 to {limit}.",
            limit=r.number(plans.MAX_DAYS),
        ),
        "bad_price": lambda: t._("The price must be greater than zero."),
        "no_plan": lambda: t._("That plan no longer exists."),
    }
    found = texts.get(exc.code)
    return found() if found else t._("That could not be done; nothing was changed.")


def pricing_problem(exc: PricingError, r: Reader) -> str:
    t, p = r.t, exc.params
    texts = {
        "bad_code": lambda: t._(
            "A code is 1 to 32 lowercase letters, digits, '-' or '_', like iptv-1m."
        ),
        "method_exists": lambda: t._(
            "There is already a payment method with the code {code}. Send another.",
            code=r.name(str(p.get("method", ""))),
        ),
        "bad_name": lambda: t._(
            "A name is 1 to {limit} characters; that one has {length}.",
            limit=r.number(int(str(p.get("limit", pricing.MAX_METHOD_NAME)))),
            length=r.number(int(str(p.get("length", 0)))),
        ),
        "bad_instructions": lambda: t._(
            "The instructions are 1 to {limit} characters; these have {length}.",
            limit=r.number(pricing.MAX_INSTRUCTIONS),
            length=r.number(int(str(p.get("length", 0)))),
        ),
        "tier_exists": lambda: t._(
            "There is already a tier from {credits}. Send another amount, or edit that tier.",
            credits=r.money(int(str(p.get("min_credits", 0)))),
        ),
        "bad_tier": lambda: t._("The price per credit must be greater than zero."),
        "negative_minimum": lambda: t._("The minimum cannot be negative."),
        "no_tier": lambda: t._("That price tier no longer exists."),
        "no_method": lambda: t._("That payment method no longer exists."),
    }
    found = texts.get(exc.code)
    return found() if found else t._("That could not be done; nothing was changed.")


def saved(t: Translator) -> str:
    return t._("✅ Saved.")


def removed(t: Translator) -> str:
    return t._("🗑 Removed.")


def already_saved(t: Translator) -> str:
    return t._("That was already saved; nothing was saved twice.")


def form_closed(t: Translator) -> str:
    return t._("This form is closed; nothing was saved. Start again from the catalogue.")


def send_text(t: Translator) -> str:
    return t._("Send the answer as a text message, or tap Cancel.")


def tap_save(t: Translator) -> str:
    return t._("Tap Save or Cancel.")


def cancelled(t: Translator) -> str:
    return t._("Cancelled; nothing was changed.")


def timed_out(t: Translator) -> str:
    return t._("The catalogue form timed out; nothing was changed.")


def replaced(t: Translator) -> str:
    return t._("Catalogue form closed; nothing was changed.")
