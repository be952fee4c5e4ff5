"""The catalogue form: a new plan, tier or payment method, one field of one, or removing a
tier, as a short flow in the one conversation all flows share.

Each answer is checked by the service's rules as it comes; the summary shows what will
change, and its Save carries a nonce minted with it, so a second tap saves nothing twice.
The draft holds ids and answers; the summary and the save re-read the row.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from telegram import Update
from telegram.ext import CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import plans, pricing
from bot.services.plans import PlanError
from bot.services.pricing import PricingError
from bot.services.roles import Permission
from handlers import flow
from handlers.admin import catalogue_callbacks as cb
from handlers.admin import catalogue_form_views as views
from handlers.admin.catalogue import SAVED_KEY, actor, card_screen, guarded, list_screen, refusal
from handlers.admin.catalogue_callbacks import Field, Kind
from handlers.common import answer, may, now, refuse
from handlers.language import reader, translator
from handlers.reader import Reader

DRAFT = "catalogue_draft"
INPUT, SAVE = "catalogue:input", "catalogue:save"
Value = str | int
# Which answer a refusal at Save is about: the form asks for it again.
_FIELD_OF = {
    "plan_exists": Field.CODE,
    "method_exists": Field.CODE,
    "tier_exists": Field.MIN_CREDITS,
}


@dataclass
class CatalogueDraft(flow.FlowMessage):
    kind: str = Kind.PLAN.value
    row_id: int = 0  # 0: a new row
    name: str | None = None  # the row's name when the form opened (None: a new row)
    fields: list[str] = field(default_factory=list)
    step: int = 0
    values: dict[str, Value] = field(default_factory=dict)
    remove: bool = False
    nonce: str = ""


def _draft(context: BotContext) -> CatalogueDraft | None:
    return flow.draft(context, DRAFT, CatalogueDraft)


async def _current(context: BotContext, kind: Kind, row_id: int) -> tuple[str, dict[Field, Value]]:
    """A row's name and editable values, read afresh."""
    if kind == Kind.PLAN:
        p = await plans.get_plan(context.db, row_id)
        return p.name, {Field.NAME: p.name, Field.DAYS: p.days, Field.PRICE: p.price}
    if kind == Kind.TIER:
        t = await pricing.get_tier(context.db, row_id)
        return "", {Field.MIN_CREDITS: t.min_credits, Field.UNIT_PRICE: t.unit_price}
    m = await pricing.get_method(context.db, row_id)
    return m.name, {
        Field.NAME: m.name, Field.INSTRUCTIONS: m.instructions, Field.MIN_TOTAL: m.min_total,
    }  # fmt: skip


def _amount(text: str, *, zero: bool = False) -> int:
    try:
        return parse_amount(text)
    except AmountError as exc:
        if zero and exc.code == "zero":
            return 0
        raise


async def _parse(context: BotContext, draft: CatalogueDraft, asked: Field, text: str) -> Value:
    """An answer as the value it stands for; raises the service's refusal if it breaks a rule."""
    kind = Kind(draft.kind)
    if asked == Field.CODE:
        if kind == Kind.PLAN:
            return await plans.check_new_code(context.db, text)
        return await pricing.check_new_method_code(context.db, text)
    if asked == Field.NAME:
        return plans.check_name(text) if kind == Kind.PLAN else pricing.check_method_name(text)
    if asked == Field.DAYS:
        return plans.parse_days(text)
    if asked == Field.PRICE:
        return plans.check_price(_amount(text))
    if asked == Field.MIN_CREDITS:
        return await pricing.check_tier_start(context.db, _amount(text, zero=True), draft.row_id)
    if asked == Field.UNIT_PRICE:
        return _amount(text)
    if asked == Field.INSTRUCTIONS:
        return pricing.check_instructions(text)
    return pricing.check_min_total(_amount(text, zero=True))


def _problem(exc: AmountError | PlanError | PricingError, r: Reader) -> str:
    if isinstance(exc, AmountError):
        return views.amount_problem(exc, r)
    return refusal(exc, r)


async def _ask(
    context: BotContext, draft: CatalogueDraft, r: Reader, problem: str | None = None
) -> str:
    """Show the question for the field the form is at."""
    asked = Field(draft.fields[draft.step])
    current = None
    if draft.row_id:
        _, values = await _current(context, Kind(draft.kind), draft.row_id)
        current = values.get(asked)
    screen = views.prompt(Kind(draft.kind), asked, draft.name, current, r, problem)
    await flow.render(context, draft, *screen)
    return INPUT


async def _summary(context: BotContext, draft: CatalogueDraft, r: Reader) -> str:
    """What will change, with a Save keyed by a fresh nonce."""
    draft.nonce = secrets.token_urlsafe(9)
    kind = Kind(draft.kind)
    before: dict[Field, Value] = {}
    if draft.row_id:
        _, before = await _current(context, kind, draft.row_id)
    rows = [(Field(name), before.get(Field(name)), draft.values[name]) for name in draft.fields]
    await flow.render(context, draft, *views.summary(kind, draft.name, rows, draft.nonce, r))
    return SAVE


async def _open(update: Update, context: BotContext, draft: CatalogueDraft) -> str | int:
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await answer(query)
    context.user_data[DRAFT] = draft
    return await _ask(context, draft, await reader(update, context))


def _at(update: Update) -> tuple[int, int]:
    message = update.effective_message
    assert message is not None, "a button has its message"
    return message.chat.id, message.message_id


@guarded
async def start_add(update: Update, context: BotContext, t: object) -> str | int:
    """➕: ask for a new row's fields, one by one."""
    kind = cb.ADD.parse(context)
    fields = [f.value for f in cb.NEW[kind]]
    return await _open(update, context, CatalogueDraft(*_at(update), kind.value, fields=fields))


@guarded
async def start_edit(update: Update, context: BotContext, t: object) -> str | int:
    """✏️: ask for the new value of one field."""
    kind, row_id, asked = cb.EDIT.parse(context)
    r = await reader(update, context)
    if asked not in cb.EDITABLE[kind]:
        await refuse(update, views.form_closed(r.t))
        return flow.end(context, DRAFT)
    try:
        name, _ = await _current(context, kind, row_id)
    except (PlanError, PricingError) as exc:
        await refuse(update, refusal(exc, r))
        return flow.end(context, DRAFT)
    draft = CatalogueDraft(*_at(update), kind.value, row_id, name, [asked.value])
    return await _open(update, context, draft)


@guarded
async def start_remove(update: Update, context: BotContext, t: object) -> str | int:
    """🗑 on a tier: confirm first."""
    _, tier_id = cb.REMOVE.parse(context)
    r = await reader(update, context)
    try:
        tier = await pricing.get_tier(context.db, tier_id)
    except PricingError as exc:
        await refuse(update, refusal(exc, r))
        return flow.end(context, DRAFT)
    query = update.callback_query
    assert query is not None and context.user_data is not None
    await answer(query)
    draft = CatalogueDraft(*_at(update), Kind.TIER.value, tier_id, "", remove=True)
    draft.nonce = secrets.token_urlsafe(9)
    context.user_data[DRAFT] = draft
    line = views.shown(Field.MIN_CREDITS, tier.min_credits, r)
    line += " · " + views.shown(Field.UNIT_PRICE, tier.unit_price, r)
    await flow.render(context, draft, *views.removal(line, draft.nonce, r))
    return SAVE


async def _still_allowed(update: Update, context: BotContext) -> bool:
    """Every step checks again: a permission taken away mid-form ends it."""
    if await may(update, context, Permission.CATALOGUE):
        return True
    t = await translator(update, context)
    await refuse(update, views.form_closed(t))
    return False


async def got_text(update: Update, context: BotContext) -> str | int:
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return flow.end(context, DRAFT)
    if not await _still_allowed(update, context):
        return flow.end(context, DRAFT)
    r = await reader(update, context)
    asked = Field(draft.fields[draft.step])
    try:
        draft.values[asked.value] = await _parse(context, draft, asked, message.text)
    except (AmountError, PlanError, PricingError) as exc:
        return await _ask(context, draft, r, _problem(exc, r))
    draft.step += 1
    if draft.step < len(draft.fields):
        return await _ask(context, draft, r)
    return await _summary(context, draft, r)


async def _write(update: Update, context: BotContext, draft: CatalogueDraft) -> int:
    """The one service call the summary stands for; the id of the row it wrote."""
    v, who, when, kind = draft.values, actor(update), now(context), Kind(draft.kind)
    db = context.db
    if kind == Kind.PLAN and not draft.row_id:
        plan = await plans.add_plan(
            db, code=str(v["code"]), name=str(v["name"]), days=int(v["days"]),
            price=int(v["price"]), actor=who, now=when,
        )  # fmt: skip
        return plan.id
    if kind == Kind.PLAN:
        await plans.edit_plan(
            db, plan_id=draft.row_id, actor=who, now=when,
            name=_text(v, Field.NAME), days=_int(v, Field.DAYS), price=_int(v, Field.PRICE),
        )  # fmt: skip
        return draft.row_id
    if kind == Kind.TIER and draft.remove:
        await pricing.delete_tier(db, tier_id=draft.row_id, actor=who, now=when)
        return 0
    if kind == Kind.TIER and not draft.row_id:
        tier = await pricing.add_tier(
            db, min_credits=int(v["min"]), unit_price=int(v["unit"]), actor=who, now=when
        )
        return tier.id
    if kind == Kind.TIER:
        await pricing.edit_tier(
            db, tier_id=draft.row_id, actor=who, now=when,
            min_credits=_int(v, Field.MIN_CREDITS), unit_price=_int(v, Field.UNIT_PRICE),
        )  # fmt: skip
        return draft.row_id
    if not draft.row_id:
        method = await pricing.add_method(
            db, code=str(v["code"]), name=str(v["name"]), instructions=str(v["text"]),
            min_total=int(v["mint"]), actor=who, now=when,
        )  # fmt: skip
        return method.id
    await pricing.edit_method(
        db, method_id=draft.row_id, actor=who, now=when, name=_text(v, Field.NAME),
        instructions=_text(v, Field.INSTRUCTIONS), min_total=_int(v, Field.MIN_TOTAL),
    )  # fmt: skip
    return draft.row_id


def _text(values: dict[str, Value], asked: Field) -> str | None:
    return str(values[asked.value]) if asked.value in values else None


def _int(values: dict[str, Value], asked: Field) -> int | None:
    return int(values[asked.value]) if asked.value in values else None


async def save(update: Update, context: BotContext) -> str | int:
    """💾: write once. A tap on an older summary finds another nonce and writes nothing."""
    draft = _draft(context)
    query = update.callback_query
    if draft is None or query is None:
        return flow.end(context, DRAFT)
    if not await _still_allowed(update, context):
        return flow.end(context, DRAFT)
    r = await reader(update, context)
    nonce = cb.SAVE.parse(context)
    if nonce != draft.nonce:
        await refuse(update, views.form_closed(r.t))
        return SAVE
    kind = Kind(draft.kind)
    try:
        row_id = await _write(update, context, draft)
    except (PlanError, PricingError) as exc:
        asked = _FIELD_OF.get(exc.code)
        if asked is not None and asked.value in draft.fields:
            await answer(query)
            draft.step = draft.fields.index(asked.value)
            return await _ask(context, draft, r, refusal(exc, r))
        await answer(query)
        await flow.render(context, draft, *await list_screen(context, kind, r, refusal(exc, r)))
        return flow.end(context, DRAFT)
    assert context.user_data is not None
    context.user_data[SAVED_KEY] = nonce
    await answer(query)
    if row_id:
        screen = await card_screen(context, kind, row_id, r, views.saved(r.t))
    else:
        screen = await list_screen(context, kind, r, views.removed(r.t))
    await flow.render(context, draft, *screen)
    return flow.end(context, DRAFT)


async def text_expected(update: Update, context: BotContext) -> str | int:
    await refuse(update, views.send_text(await translator(update, context)))
    return INPUT


async def save_expected(update: Update, context: BotContext) -> str | int:
    await refuse(update, views.tap_save(await translator(update, context)))
    return SAVE


async def cancel(update: Update, context: BotContext) -> object:
    """✖️ or /cancel: back to the list the form came from, nothing changed."""
    draft = _draft(context)
    if update.callback_query is not None:
        await answer(update.callback_query)
    if draft is not None:
        r = await reader(update, context)
        kind = Kind(draft.kind)
        text, keyboard = await list_screen(context, kind, r, views.cancelled(r.t))
        await flow.render(context, draft, text, keyboard)
    return flow.end(context, DRAFT)


async def timed_out(update: Update, context: BotContext) -> None:
    t = await translator(update, context)
    await flow.expire(context, DRAFT, views.timed_out(t))


def form() -> flow.Flow:
    """The catalogue form, for the one conversation all flows share."""
    cancel_button = CallbackQueryHandler(cancel, pattern=cb.CANCEL.pattern())
    return flow.Flow(
        name="catalogue",
        draft_key=DRAFT,
        entry_points=[
            CallbackQueryHandler(start_add, pattern=cb.ADD.pattern()),
            CallbackQueryHandler(start_edit, pattern=cb.EDIT.pattern()),
            CallbackQueryHandler(start_remove, pattern=cb.REMOVE.pattern()),
        ],
        states={
            INPUT: [
                MessageHandler(filters.TEXT & ~filters.COMMAND, got_text),
                cancel_button,
                MessageHandler(~filters.COMMAND, text_expected),
            ],
            SAVE: [
                CallbackQueryHandler(save, pattern=cb.SAVE.pattern()),
                cancel_button,
                MessageHandler(~filters.COMMAND, save_expected),
            ],
        },
        fallbacks=[cancel_button],
        cancel=cancel,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
