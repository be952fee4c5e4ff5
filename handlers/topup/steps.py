"""The top-up flow's steps (the state table is in ``flow``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import ConversationHandler

from bot import keyboards
from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import pricing, stars, topups
from bot.services.pricing import Method, Quote
from bot.services.topup_reads import Proof, TopUpError
from bot.services.topups import Limits
from handlers import flow
from handlers.common import active_reseller, answer, show
from handlers.flow import FlowMessage
from handlers.language import translator
from handlers.payments import invoice
from handlers.reader import Reader
from handlers.topup import callbacks, views
from handlers.topup.admin import post_to_admins
from models import ProofKind

# The flow's steps (state names are unique across every flow: see handlers/flow.py).
AMOUNT, METHOD, PROOF, CONFIRM = "topup:amount", "topup:method", "topup:proof", "topup:confirm"
DRAFT = "topup_draft"


@dataclass
class Draft(FlowMessage):
    """The request being built, and the one message that shows it.

    It holds the answers and ids, never a price or a method: those are read again at each
    step. ``unit_price`` and ``method_version`` are what the reseller was last shown, to
    tell them when the price or the method changed since.
    """

    credits: int = 0
    unit_price: int = 0
    method_id: int = 0
    method_version: str = ""
    proof: Proof | None = None
    nonce: str = ""


def limits(context: BotContext) -> Limits:
    s = context.settings
    return Limits(
        min_credits=s.topup_min_credits,
        max_credits=s.topup_max_credits,
        max_pending=s.topup_max_pending,
        currency=s.price_currency,
    )


def _draft(context: BotContext) -> Draft | None:
    return flow.draft(context, DRAFT, Draft)


async def _reader(update: Update, context: BotContext) -> Reader:
    return Reader.of(context.settings, await translator(update, context))


def request_key(user_id: int, nonce: str) -> str:
    return f"tu:{user_id}:{nonce}"


def _shown(draft: Draft, quote: Quote, method: Method | None = None) -> bool:
    """Remember what the reseller is shown now; whether it differs from what they saw."""
    changed = draft.unit_price not in (0, quote.unit_price)
    draft.unit_price = quote.unit_price
    if method is not None:
        version = pricing.version(method)
        changed |= draft.method_id == method.id and draft.method_version not in ("", version)
        draft.method_id, draft.method_version = method.id, version
    return changed


async def start_topup(update: Update, context: BotContext) -> int | str:
    """Entry: check the reseller may top up at all, then ask how many credits."""
    chat = update.effective_chat
    r = await _reader(update, context)
    if chat is None or update.effective_user is None:
        return ConversationHandler.END
    if await active_reseller(update, context, r.t) is None:
        return ConversationHandler.END
    try:
        await topups.can_start(context.db, update.effective_user.id, limits(context))
    except TopUpError as exc:
        await show(update, views.refusal(exc, r), keyboards.back_to_menu(r.t))
        return ConversationHandler.END

    text, keyboard = views.ask_amount(limits(context), r)
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await answer(query)
        message = query.message
        await query.edit_message_text(text, reply_markup=keyboard)
    else:
        message = await context.bot.send_message(chat.id, text, reply_markup=keyboard)
    assert context.user_data is not None
    context.user_data[DRAFT] = Draft(chat_id=chat.id, message_id=message.message_id)
    return AMOUNT


async def got_amount(update: Update, context: BotContext) -> int | str:
    """The amount: priced, and the methods that accept it offered."""
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    lim = limits(context)
    try:
        credits = parse_amount(message.text, max_amount=lim.max_credits)
        quote, methods = await topups.price(context.db, credits, lim)
    except AmountError as exc:
        problem = views.quoted(message.text, views.amount_problem(exc, r), r.t)
        await flow.render(context, draft, *views.ask_amount(lim, r, problem))
        return AMOUNT
    except TopUpError as exc:
        problem = views.quoted(message.text, views.refusal(exc, r), r.t)
        await flow.render(context, draft, *views.ask_amount(lim, r, problem))
        return AMOUNT
    draft.credits, draft.unit_price = credits, quote.unit_price
    await flow.render(context, draft, *views.price(quote, methods, r))
    return METHOD


async def amount_expected(update: Update, context: BotContext) -> int | str:
    """Anything but text where the amount is asked for."""
    draft = _draft(context)
    if draft is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    problem = views.send_amount_as_text(r.t)
    await flow.render(context, draft, *views.ask_amount(limits(context), r, problem))
    return AMOUNT


async def _choose_method(
    context: BotContext, draft: Draft, r: Reader, problem: str | None = None
) -> int | str:
    """The price screen again, priced today, its methods read again; back to the amount if
    nothing accepts it any more."""
    lim = limits(context)
    draft.method_id, draft.method_version, draft.proof = 0, "", None
    try:
        quote, methods = await topups.price(context.db, draft.credits, lim)
    except TopUpError as exc:
        await flow.render(context, draft, *views.ask_amount(lim, r, views.refusal(exc, r)))
        return AMOUNT
    if _shown(draft, quote) and problem is None:
        problem = views.offer_changed(r.t)
    await flow.render(context, draft, *views.price(quote, methods, r, problem))
    return METHOD


async def chose_method(update: Update, context: BotContext) -> int | str:
    """A method tapped: checked against the server's own list, then its instructions."""
    query = update.callback_query
    draft = _draft(context)
    if query is None or draft is None or not draft.credits:
        return ConversationHandler.END
    r = await _reader(update, context)
    method_id = callbacks.METHOD.parse(context).id
    if await stars.stars_method(context.db, method_id) is not None:
        # Stars: no proof step; the invoice carries on where the flow ends.
        if await invoice.stars_topup(update, context, draft, draft.credits, method_id):
            return _end(context)
        return METHOD
    try:
        quote, method = await topups.offer(context.db, draft.credits, method_id, limits(context))
    except TopUpError as exc:
        await answer(query, views.refusal(exc, r), alert=True)
        return METHOD
    await answer(query)
    problem = views.offer_changed(r.t) if _shown(draft, quote, method) else None
    await flow.render(context, draft, *views.pay(quote, method, r, problem))
    return PROOF


async def method_expected(update: Update, context: BotContext) -> int | str:
    """Anything but a method's button where one is asked for."""
    draft = _draft(context)
    if draft is None or not draft.credits:
        return ConversationHandler.END
    r = await _reader(update, context)
    return await _choose_method(context, draft, r, views.tap_a_method(r.t))


async def _offer(
    context: BotContext, draft: Draft, r: Reader
) -> tuple[Quote, Method, bool] | int | str:
    """The chosen method and today's price, and whether either changed since last shown;
    or, if the method no longer accepts the amount, the price screen again (its step)."""
    try:
        quote, method = await topups.offer(
            context.db, draft.credits, draft.method_id, limits(context)
        )
    except TopUpError as exc:
        return await _choose_method(context, draft, r, views.refusal(exc, r))
    return quote, method, _shown(draft, quote, method)


async def _ask_confirmation(
    update: Update, context: BotContext, proof: Proof | None, problem: str | None = None
) -> int | str:
    """The summary, priced today; a price or method that changed is said above it."""
    draft = _draft(context)
    if draft is None or not draft.method_id:
        return ConversationHandler.END
    if proof is not None:
        draft.proof = proof
    if draft.proof is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    found = await _offer(context, draft, r)
    if not isinstance(found, tuple):
        return found
    quote, method, changed = found
    if changed and problem is None:
        problem = views.offer_changed(r.t)
    # A fresh nonce per confirmation screen: an older screen's Confirm is recognised as old.
    draft.nonce = secrets.token_urlsafe(9)
    screen = views.summary(quote, method, draft.proof, draft.nonce, r, problem)
    await flow.render(context, draft, *screen)
    return CONFIRM


async def got_photo(update: Update, context: BotContext) -> int | str:
    """A photo of the receipt."""
    message = update.effective_message
    if message is None or not message.photo:
        return ConversationHandler.END
    proof = Proof(ProofKind.PHOTO, file_id=message.photo[-1].file_id)
    return await _ask_confirmation(update, context, proof)


async def got_document(update: Update, context: BotContext) -> int | str:
    """A receipt file: an image or a PDF."""
    message = update.effective_message
    if message is None or message.document is None:
        return ConversationHandler.END
    mime = message.document.mime_type or ""
    if not (mime.startswith("image/") or mime == "application/pdf"):
        r = await _reader(update, context)
        return await _proof_again(update, context, views.not_a_receipt_file(r.t))
    proof = Proof(ProofKind.DOCUMENT, file_id=message.document.file_id)
    return await _ask_confirmation(update, context, proof)


async def got_reference(update: Update, context: BotContext) -> int | str:
    """A transaction id typed as text."""
    message = update.effective_message
    if message is None or message.text is None:
        return ConversationHandler.END
    try:
        reference = topups.check_reference(message.text)
    except TopUpError as exc:
        r = await _reader(update, context)
        problem = views.quoted(message.text, views.refusal(exc, r), r.t)
        return await _proof_again(update, context, problem)
    proof = Proof(ProofKind.REFERENCE, reference=reference)
    return await _ask_confirmation(update, context, proof)


async def proof_expected(update: Update, context: BotContext) -> int | str:
    """Anything else where a proof is asked for."""
    r = await _reader(update, context)
    return await _proof_again(update, context, views.not_a_proof(r.t))


async def _proof_again(update: Update, context: BotContext, problem: str) -> int | str:
    draft = _draft(context)
    if draft is None or not draft.method_id:
        return ConversationHandler.END
    r = await _reader(update, context)
    found = await _offer(context, draft, r)
    if not isinstance(found, tuple):
        return found
    quote, method, changed = found
    if changed:
        problem = views.offer_changed(r.t)
    await flow.render(context, draft, *views.pay(quote, method, r, problem))
    return PROOF


async def confirm(update: Update, context: BotContext) -> int | str:
    """✅ Confirm: the request is submitted at the price this screen showed, or the fresh
    summary is shown if the price or the method changed since; then it is posted."""
    query = update.callback_query
    user = update.effective_user
    draft = _draft(context)
    if query is None or user is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    if draft is None:  # e.g. a draft stored by an older version, dropped at start-up
        await answer(query, views.flow_over(r.t), alert=True)
        return ConversationHandler.END
    nonce = callbacks.CONFIRM.parse(context)
    if nonce != draft.nonce or not draft.method_id or not draft.proof:
        await answer(query, views.confirmation_invalid(r.t), alert=True)
        return CONFIRM
    await answer(query)
    try:
        request, created = await topups.create_request(
            context.db,
            telegram_id=user.id,
            credits=draft.credits,
            method_id=draft.method_id,
            proof=draft.proof,
            key=request_key(user.id, nonce),
            limits=limits(context),
            unit_price=draft.unit_price,
            method_version=draft.method_version,
        )
    except TopUpError as exc:
        if exc.code == "offer_changed":
            return await _ask_confirmation(update, context, None, views.offer_changed(r.t))
        if exc.code == "method_gone":
            return await _choose_method(context, draft, r, views.pick_another_method(r.t))
        await flow.render(context, draft, views.failed(exc, r), keyboards.back_to_menu(r.t))
        return _end(context)
    if created:
        await post_to_admins(context, request)
    await flow.render(context, draft, views.submitted(request, r), keyboards.back_to_menu(r.t))
    return _end(context)


async def confirm_expected(update: Update, context: BotContext) -> int | str:
    """Anything but a button on the summary."""
    if _draft(context) is None or update.effective_message is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    await update.effective_message.reply_text(views.confirm_expected(r.t))
    return CONFIRM


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def cancel_flow(update: Update, context: BotContext) -> int | str:
    """✖️ Cancel or /cancel: nothing is sent."""
    r = await _reader(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(r.t))


async def timed_out(update: Update, context: BotContext) -> None:
    r = await _reader(update, context)
    await flow.expire(context, DRAFT, views.timed_out(r.t))
