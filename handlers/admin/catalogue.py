"""The catalogue screens: plans, price tiers and payment methods, each with a preview of
what resellers will see; enabling, disabling and ordering are one tap. Adding and editing
are the form in ``catalogue_form``.

Only the owners and staff admins allowed the catalogue, checked on the server at every
command and every tap.
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import CallbackQueryHandler, CommandHandler

from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import plans, pricing, sale_quotes, stars
from bot.services.plans import PlanError
from bot.services.pricing import PricingError, Quote
from bot.services.roles import Permission
from handlers.admin import catalogue_callbacks as cb
from handlers.admin import catalogue_form_views as form_views
from handlers.admin import catalogue_views as views
from handlers.admin.catalogue_callbacks import Kind
from handlers.common import now, refuse, show, with_permission
from handlers.language import reader
from handlers.reader import Reader

Screen = views.Screen
SAVED_KEY = "catalogue_saved"  # the nonce of the form last saved, for a second tap
guarded = with_permission(Permission.CATALOGUE)


def actor(update: Update) -> str:
    user = update.effective_user
    assert user is not None, "a guarded handler has a user"
    return f"tg:{user.id}"


def refusal(exc: PlanError | PricingError, r: Reader) -> str:
    if isinstance(exc, PlanError):
        return form_views.plan_problem(exc, r)
    return form_views.pricing_problem(exc, r)


# --- what each screen shows, read afresh ------------------------------------------------


async def list_screen(
    context: BotContext, kind: Kind, r: Reader, note: str | None = None
) -> Screen:
    if kind == Kind.PLAN:
        return views.plans(await plans.list_plans(context.db), r, note)
    if kind == Kind.TIER:
        return views.tiers(await pricing.list_tiers(context.db), r, note)
    return views.methods(await pricing.list_methods(context.db), r, note)


def tier_sample(tier: pricing.Tier) -> Quote:
    """What a reseller asking for the tier's minimum (at least one credit) is quoted."""
    credits = max(tier.min_credits, 100)
    return Quote(credits, tier.unit_price, pricing.price_of(credits, tier.unit_price))


async def card_screen(
    context: BotContext, kind: Kind, row_id: int, r: Reader, note: str | None = None
) -> Screen:
    """A row's card; raises PlanError or PricingError when it is gone."""
    if kind == Kind.PLAN:
        found = await plans.get_plan(context.db, row_id)
        order = [p.id for p in await plans.list_plans(context.db)]
        return views.plan(found, order.index(found.id) + 1, r, note)
    if kind == Kind.TIER:
        tier = await pricing.get_tier(context.db, row_id)
        sample = tier_sample(tier)
        offered = await pricing.offered_methods(context.db, sample.total)
        return views.tier(tier, sample, offered, r, note)
    found_method = await pricing.get_method(context.db, row_id)
    paid_in_stars = await stars.stars_method(context.db, row_id)
    return views.method(found_method, r, note, stars=paid_in_stars)


# --- the screens ------------------------------------------------------------------------


@guarded
async def open_menu(update: Update, context: BotContext, t: Translator) -> None:
    """/catalogue or the admin menu's button: plans, tiers, methods."""
    await show(update, *views.menu(await reader(update, context)))


@guarded
async def open_list(update: Update, context: BotContext, t: Translator) -> None:
    r = await reader(update, context)
    await show(update, *await list_screen(context, cb.LIST.parse(context), r))


@guarded
async def open_card(update: Update, context: BotContext, t: Translator) -> None:
    r = await reader(update, context)
    kind, row_id = cb.CARD.parse(context)
    try:
        await show(update, *await card_screen(context, kind, row_id, r))
    except (PlanError, PricingError) as exc:
        await refuse(update, refusal(exc, r))


@guarded
async def preview_plans(update: Update, context: BotContext, t: Translator) -> None:
    """The plan picker as a reseller's /activate shows it now."""
    r = await reader(update, context)
    await show(update, *views.plans_preview(await sale_quotes.active_plans(context.db), r))


@guarded
async def preview_method(update: Update, context: BotContext, t: Translator) -> None:
    """A method's payment screen, exactly as the top-up flow renders it."""
    r = await reader(update, context)
    _, method_id = cb.METHOD_PREVIEW.parse(context)
    try:
        found = await pricing.get_method(context.db, method_id)
    except PricingError as exc:
        await refuse(update, refusal(exc, r))
        return
    await show(update, *views.method_preview(found, r))


async def _offer(update: Update, context: BotContext, kind: Kind, row_id: int, on: bool) -> None:
    r = await reader(update, context)
    try:
        if kind == Kind.PLAN:
            await plans.set_plan_active(
                context.db, plan_id=row_id, active=on, actor=actor(update), now=now(context)
            )
        elif kind == Kind.METHOD:
            await pricing.edit_method(
                context.db, method_id=row_id, active=on, actor=actor(update), now=now(context)
            )
        else:
            raise PricingError("no_tier", "tiers are removed, not disabled", tier_id=row_id)
        note = views.enabled(r.t) if on else views.disabled(r.t)
        await show(update, *await card_screen(context, kind, row_id, r, note))
    except (PlanError, PricingError) as exc:
        await refuse(update, refusal(exc, r))


@guarded
async def enable(update: Update, context: BotContext, t: Translator) -> None:
    """Offer it again; a second tap finds it offered and changes nothing."""
    await _offer(update, context, *cb.ENABLE.parse(context), on=True)


@guarded
async def disable(update: Update, context: BotContext, t: Translator) -> None:
    await _offer(update, context, *cb.DISABLE.parse(context), on=False)


async def _move(update: Update, context: BotContext, row_id: int, up: bool) -> None:
    r = await reader(update, context)
    try:
        await plans.move_plan(
            context.db, plan_id=row_id, up=up, actor=actor(update), now=now(context)
        )
        await show(update, *await card_screen(context, Kind.PLAN, row_id, r))
    except PlanError as exc:
        await refuse(update, refusal(exc, r))


@guarded
async def move_up(update: Update, context: BotContext, t: Translator) -> None:
    """One place up in the resellers' lists (at the top it stays)."""
    await _move(update, context, cb.UP.parse(context)[1], up=True)


@guarded
async def move_down(update: Update, context: BotContext, t: Translator) -> None:
    await _move(update, context, cb.DOWN.parse(context)[1], up=False)


@guarded
async def stale_save(update: Update, context: BotContext, t: Translator) -> None:
    """A Save tapped again after the form ended: it saved once, or it was closed."""
    saved = (context.user_data or {}).get(SAVED_KEY)
    if cb.SAVE.parse(context) == saved:
        await refuse(update, form_views.already_saved(t))
    else:
        await refuse(update, form_views.form_closed(t))


def register(app: BotApplication) -> None:
    """The catalogue screens outside the form (the form is ``catalogue_form.form``)."""
    app.add_handler(CommandHandler("catalogue", open_menu))
    for codec, callback in (
        (cb.MENU, open_menu),
        (cb.LIST, open_list),
        (cb.CARD, open_card),
        (cb.PREVIEW, preview_plans),
        (cb.METHOD_PREVIEW, preview_method),
        (cb.ENABLE, enable),
        (cb.DISABLE, disable),
        (cb.UP, move_up),
        (cb.DOWN, move_down),
        (cb.SAVE, stale_save),
        (cb.CANCEL, open_menu),  # Cancel on a form that already ended
    ):
        app.add_handler(CallbackQueryHandler(callback, pattern=codec.pattern()))
