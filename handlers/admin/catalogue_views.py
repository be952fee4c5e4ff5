"""What the catalogue screens say: the plans, the price tiers and the payment methods,
each with a preview of what resellers will see. Pure functions of what is shown and a
reader; the form's prompts and summaries are in ``catalogue_form_views``."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import keyboards
from bot.i18n import Translator
from bot.services.customers import PlanView as OfferedPlan
from bot.services.plans import PlanView
from bot.services.pricing import Method, Quote, Tier
from bot.services.stars import StarsMethod
from handlers.admin.catalogue_callbacks import (
    ADD,
    CARD,
    DISABLE,
    DOWN,
    EDIT,
    ENABLE,
    LIST,
    MENU,
    METHOD_PREVIEW,
    PREVIEW,
    REMOVE,
    UP,
    Field,
    Kind,
)
from handlers.payments import callbacks as payment_buttons
from handlers.payments import views as payment_views
from handlers.pricelists import callbacks as price_list_buttons
from handlers.pricelists.callbacks import Scope
from handlers.reader import Reader
from handlers.sale import views as sale_views
from handlers.topup import views as topup_views
from models import OrderKind

Screen = tuple[str, InlineKeyboardMarkup]
# The customer a plans preview is shown for.
SAMPLE_CUSTOMER = "customer_1"
# The top-up a method preview is shown for, unless the method asks for more.
SAMPLE_TOTAL = 10_000


def _noted(note: str | None, text: str) -> str:
    return f"{note}\n\n{text}" if note else text


def _button(text: str, data: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text, callback_data=data)]


def back_to(kind: Kind, t: Translator) -> list[InlineKeyboardButton]:
    labels = {
        Kind.PLAN: t._("⬅️ Plans"),
        Kind.TIER: t._("⬅️ Price tiers"),
        Kind.METHOD: t._("⬅️ Payment methods"),
    }
    return _button(labels[kind], LIST.build(kind))


def _back_to_catalogue(t: Translator) -> list[InlineKeyboardButton]:
    return _button(t._("⬅️ Catalogue"), MENU.build())


def menu(r: Reader, note: str | None = None) -> Screen:
    t = r.t
    text = t._("🗂 <b>Catalogue</b>\nWhat resellers can sell, what credits cost and how to pay.")
    return _noted(note, text), InlineKeyboardMarkup(
        [
            _button(t._("📦 Plans"), LIST.build(Kind.PLAN)),
            _button(t._("🏷 Price tiers"), LIST.build(Kind.TIER)),
            _button(t._("💳 Payment methods"), LIST.build(Kind.METHOD)),
            _button(t._("🏷 Price lists"), price_list_buttons.HOME.build(Scope.ADMIN)),
            [keyboards.button(t._("⬅️ Menu"), keyboards.MENU)],
        ]
    )


# --- plans ------------------------------------------------------------------------------


def _state(active: bool, t: Translator) -> str:
    return t._("✅ offered") if active else t._("⛔️ disabled")


def plans(found: Sequence[PlanView], r: Reader, note: str | None = None) -> Screen:
    t = r.t
    lines = [t._("📦 <b>Plans</b>, in the order resellers see them:")]
    lines += [
        t._(
            "{place}. {name}: {days}, {price} ({state})",
            place=r.number(place),
            name=r.name(p.name),
            days=t.n_("{n} day", "{n} days", p.days),
            price=r.money(p.price),
            state=_state(p.active, t),
        )
        for place, p in enumerate(found, start=1)
    ]
    if not found:
        lines.append(t._("No plans yet."))
    rows = [
        _button(f"{'' if p.active else '⛔️ '}{p.name}", CARD.build(Kind.PLAN, p.id)) for p in found
    ]
    rows.append(_button(t._("➕ Add a plan"), ADD.build(Kind.PLAN)))
    rows.append(_button(t._("👁 Preview"), PREVIEW.build(Kind.PLAN)))
    rows.append(_back_to_catalogue(t))
    return _noted(note, "\n".join(lines)), InlineKeyboardMarkup(rows)


def plan(p: PlanView, place: int, r: Reader, note: str | None = None) -> Screen:
    t = r.t
    text = t._(
        "📦 <b>{name}</b>\nCode: <code>{code}</code>\nDuration: {days}\nPrice: <b>{price}</b>\n"
        "State: {state}\nPlace in the list: {place}",
        name=r.name(p.name),
        code=escape(p.code),
        days=t.n_("{n} day", "{n} days", p.days),
        price=r.money(p.price),
        state=_state(p.active, t),
        place=r.number(place),
    )
    if p.panel is not None:
        text += "\n" + t._(
            "Provisions on panel {panel}; its placement is set from the command line.",
            panel=r.name(p.panel),
        )
    toggle = (
        _button(t._("⛔️ Disable"), DISABLE.build(Kind.PLAN, p.id))
        if p.active
        else _button(t._("✅ Enable"), ENABLE.build(Kind.PLAN, p.id))
    )
    rows = [
        [
            InlineKeyboardButton(
                t._("✏️ Name"), callback_data=EDIT.build(Kind.PLAN, p.id, Field.NAME)
            ),
            InlineKeyboardButton(
                t._("✏️ Days"), callback_data=EDIT.build(Kind.PLAN, p.id, Field.DAYS)
            ),
            InlineKeyboardButton(
                t._("✏️ Price"), callback_data=EDIT.build(Kind.PLAN, p.id, Field.PRICE)
            ),
        ],
        [
            InlineKeyboardButton(t._("⬆️ Up"), callback_data=UP.build(Kind.PLAN, p.id)),
            InlineKeyboardButton(t._("⬇️ Down"), callback_data=DOWN.build(Kind.PLAN, p.id)),
        ],
        toggle,
        back_to(Kind.PLAN, t),
    ]
    return _noted(note, text), InlineKeyboardMarkup(rows)


def plans_preview(offered: list[OfferedPlan], r: Reader) -> Screen:
    """The plan picker a reseller's /activate shows, with its buttons leading back here."""
    t = r.t
    if offered:
        text, keyboard = sale_views.plans(OrderKind.ACTIVATION, SAMPLE_CUSTOMER, offered, r)
    else:
        text, keyboard = sale_views.no_plans(r)
    # The same labels, but tapping one here only comes back to the plans.
    rows = [
        _button(button.text, LIST.build(Kind.PLAN))
        for row in keyboard.inline_keyboard
        for button in row
    ]
    header = t._("👁 <b>Preview</b>: what a reseller sees after /activate")
    return f"{header}\n\n{text}", InlineKeyboardMarkup([*rows[:-1], back_to(Kind.PLAN, t)])


# --- price tiers ------------------------------------------------------------------------


def _tier_line(tier: Tier, r: Reader) -> str:
    return r.t._(
        "From {credits}: {unit_price} per credit",
        credits=r.money(tier.min_credits),
        unit_price=r.price(tier.unit_price),
    )


def tiers(found: Sequence[Tier], r: Reader, note: str | None = None) -> Screen:
    t = r.t
    lines = [t._("🏷 <b>Price tiers</b>: what one credit costs, cheaper in bulk.")]
    lines += [_tier_line(tier, r) for tier in found]
    if not found:
        lines.append(t._("No tiers yet: resellers cannot top up until there is one."))
    rows = [_button(_tier_line(tier, r), CARD.build(Kind.TIER, tier.id)) for tier in found]
    rows.append(_button(t._("➕ Add a tier"), ADD.build(Kind.TIER)))
    rows.append(_back_to_catalogue(t))
    return _noted(note, "\n".join(lines)), InlineKeyboardMarkup(rows)


def tier(
    found: Tier, sample: Quote, methods: Sequence[Method], r: Reader, note: str | None = None
) -> Screen:
    """A tier, and the price screen a reseller asking for its minimum sees."""
    t = r.t
    preview, keyboard = topup_views.price(sample, methods, r)
    labels = [b.text for row in keyboard.inline_keyboard for b in row][:-1]  # not Cancel
    if labels:
        preview += "\n" + t._("Buttons: {labels}", labels=" · ".join(escape(x) for x in labels))
    text = t._(
        "🏷 <b>Price tier</b>\n{line}\n\n👁 <b>Preview</b>: a reseller asking for {credits} sees:",
        line=_tier_line(found, r),
        credits=r.money(sample.credits),
    )
    rows = [
        [
            InlineKeyboardButton(
                t._("✏️ From"), callback_data=EDIT.build(Kind.TIER, found.id, Field.MIN_CREDITS)
            ),
            InlineKeyboardButton(
                t._("✏️ Price per credit"),
                callback_data=EDIT.build(Kind.TIER, found.id, Field.UNIT_PRICE),
            ),
        ],
        _button(t._("🗑 Remove"), REMOVE.build(Kind.TIER, found.id)),
        back_to(Kind.TIER, t),
    ]
    return _noted(note, f"{text}\n\n{preview}"), InlineKeyboardMarkup(rows)


# --- payment methods --------------------------------------------------------------------


def methods(found: Sequence[Method], r: Reader, note: str | None = None) -> Screen:
    t = r.t
    lines = [t._("💳 <b>Payment methods</b> resellers may pay by:")]
    lines += [
        t._(
            "{name}: from {minimum} ({state})",
            name=r.name(m.name),
            minimum=r.price(m.min_total),
            state=_state(m.active, t),
        )
        for m in found
    ]
    if not found:
        lines.append(t._("No payment methods yet."))
    rows = [
        _button(f"{'' if m.active else '⛔️ '}{m.name}", CARD.build(Kind.METHOD, m.id))
        for m in found
    ]
    rows.append(_button(t._("➕ Add a payment method"), ADD.build(Kind.METHOD)))
    rows.append(_back_to_catalogue(t))
    return _noted(note, "\n".join(lines)), InlineKeyboardMarkup(rows)


def method(
    m: Method, r: Reader, note: str | None = None, *, stars: StarsMethod | None = None
) -> Screen:
    t = r.t
    text = t._(
        "💳 <b>{name}</b>\nCode: <code>{code}</code>\nMinimum payment: {minimum}\nState: {state}\n"
        "Instructions:\n{instructions}",
        name=r.name(m.name),
        code=escape(m.code),
        minimum=r.price(m.min_total),
        state=_state(m.active, t),
        instructions=escape(m.instructions),
    )
    if stars is not None:  # paid by a Telegram Stars invoice: its rate and bounds
        text += "\n" + payment_views.stars_method_line(stars, r)
    toggle = (
        _button(t._("⛔️ Disable"), DISABLE.build(Kind.METHOD, m.id))
        if m.active
        else _button(t._("✅ Enable"), ENABLE.build(Kind.METHOD, m.id))
    )
    rows = [
        [
            InlineKeyboardButton(
                t._("✏️ Name"), callback_data=EDIT.build(Kind.METHOD, m.id, Field.NAME)
            ),
            InlineKeyboardButton(
                t._("✏️ Instructions"),
                callback_data=EDIT.build(Kind.METHOD, m.id, Field.INSTRUCTIONS),
            ),
            InlineKeyboardButton(
                t._("✏️ Minimum"), callback_data=EDIT.build(Kind.METHOD, m.id, Field.MIN_TOTAL)
            ),
        ],
        _button(t._("👁 Preview"), METHOD_PREVIEW.build(Kind.METHOD, m.id)),
        *(
            [_button(t._("⭐ Rate and bounds"), payment_buttons.STARS_RATE.build(m.id))]
            if stars
            else []
        ),
        toggle,
        back_to(Kind.METHOD, t),
    ]
    return _noted(note, text), InlineKeyboardMarkup(rows)


def sample_payment(m: Method) -> Quote:
    """The payment a method's preview shows: a round amount, or the method's minimum."""
    total = max(m.min_total, SAMPLE_TOTAL)
    return Quote(credits=total, unit_price=100, total=total)


def method_preview(m: Method, r: Reader) -> Screen:
    """The screen a reseller paying by ``m`` sees, as the top-up flow renders it."""
    t = r.t
    text, _ = topup_views.pay(sample_payment(m), m, r)
    header = t._("👁 <b>Preview</b>: a reseller paying by this method sees:")
    if not m.active:
        header += "\n" + t._("(It is disabled: resellers are not offered it now.)")
    return f"{header}\n\n{text}", InlineKeyboardMarkup(
        [_button(t._("⬅️ Back"), CARD.build(Kind.METHOD, m.id))]
    )


# --- one-tap results --------------------------------------------------------------------


def enabled(t: Translator) -> str:
    return t._("✅ Offered to resellers again.")


def disabled(t: Translator) -> str:
    return t._("⛔️ No longer offered to resellers.")
