"""The reseller's top-up flow: /topup (or ➕ Top up) -> amount -> price and payment method
-> proof -> summary -> Confirm. One message is edited step by step.

    [*] --> AMOUNT: /topup, ➕ Top up
    AMOUNT --> METHOD: a valid amount
    METHOD --> PROOF: a method tapped
    PROOF --> CONFIRM: a photo, a PDF or a transaction id
    CONFIRM --> [*]: ✅ Confirm (posted to the admins)
    any --> [*]: ✖️ Cancel, /cancel, timeout, another flow
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, ConversationHandler, MessageHandler
from telegram.ext import filters as f

from bot import keyboards
from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import topups
from bot.services.pricing import Method, Quote
from bot.services.topups import Limits, Proof, TopUpError
from handlers import flow
from handlers.common import active_reseller, answer, show
from handlers.flow import FlowMessage
from handlers.language import translator
from handlers.topup import callbacks, views
from handlers.topup.admin import post_to_admins
from handlers.topup.views import Reader
from models import ProofKind

# The flow's steps (state names are unique across every flow: see handlers/flow.py).
AMOUNT, METHOD, PROOF, CONFIRM = "topup:amount", "topup:method", "topup:proof", "topup:confirm"
DRAFT = "topup_draft"


@dataclass
class Draft(FlowMessage):
    """The request being built, and the one message that shows it."""

    credits: int = 0
    quote: Quote | None = None
    methods: list[Method] | None = None
    method: Method | None = None
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
    draft.credits, draft.quote, draft.methods = credits, quote, methods
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


async def chose_method(update: Update, context: BotContext) -> int | str:
    """A method tapped: checked against the server's own list, then its instructions."""
    query = update.callback_query
    draft = _draft(context)
    if query is None or draft is None or draft.quote is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    method_id = callbacks.METHOD.parse(context).id
    try:
        method = await topups.available_method(context.db, method_id, draft.quote.total)
    except TopUpError as exc:
        await answer(query, views.refusal(exc, r), alert=True)
        return METHOD
    await answer(query)
    draft.method = method
    await flow.render(context, draft, *views.pay(draft.quote, method, r))
    return PROOF


async def method_expected(update: Update, context: BotContext) -> int | str:
    """Anything but a method's button where one is asked for."""
    draft = _draft(context)
    if draft is None or not draft.methods or draft.quote is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    screen = views.price(draft.quote, draft.methods, r, views.tap_a_method(r.t))
    await flow.render(context, draft, *screen)
    return METHOD


async def _ask_confirmation(update: Update, context: BotContext, proof: Proof) -> int | str:
    draft = _draft(context)
    if draft is None or draft.quote is None or draft.method is None:
        return ConversationHandler.END
    draft.proof = proof
    # A fresh nonce per confirmation screen: an older screen's Confirm is recognised as old.
    draft.nonce = secrets.token_urlsafe(9)
    r = await _reader(update, context)
    await flow.render(
        context, draft, *views.summary(draft.quote, draft.method, proof, draft.nonce, r)
    )
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
    if draft is None or draft.method is None or draft.quote is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    await flow.render(context, draft, *views.pay(draft.quote, draft.method, r, problem))
    return PROOF


async def confirm(update: Update, context: BotContext) -> int | str:
    """✅ Confirm: the request is submitted (re-priced by the service) and posted."""
    query = update.callback_query
    user = update.effective_user
    draft = _draft(context)
    if query is None or user is None or draft is None:
        return ConversationHandler.END
    r = await _reader(update, context)
    nonce = callbacks.CONFIRM.parse(context)
    if nonce != draft.nonce or draft.quote is None or draft.method is None or not draft.proof:
        await answer(query, views.confirmation_invalid(r.t), alert=True)
        return CONFIRM
    await answer(query)
    try:
        request, created = await topups.create_request(
            context.db,
            telegram_id=user.id,
            credits=draft.quote.credits,
            method_id=draft.method.id,
            proof=draft.proof,
            key=request_key(user.id, nonce),
            limits=limits(context),
        )
    except TopUpError as exc:
        text = r.t._("⚠️ {problem}", problem=views.refusal(exc, r))
        await flow.render(context, draft, text, keyboards.back_to_menu(r.t))
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


def conversation() -> flow.Flow:
    """The top-up flow's steps, for the one conversation all flows share."""
    not_a_command = ~f.COMMAND
    cancel_button: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        cancel_flow, pattern=callbacks.CANCEL_FLOW.pattern()
    )
    return flow.Flow(
        name="topup",
        draft_key=DRAFT,
        entry_points=[
            CommandHandler("topup", start_topup, filters=f.ChatType.PRIVATE),
            CallbackQueryHandler(start_topup, pattern=callbacks.NEW.pattern()),
        ],
        states={
            AMOUNT: [
                MessageHandler(f.TEXT & not_a_command, got_amount),
                cancel_button,
                MessageHandler(not_a_command, amount_expected),
            ],
            METHOD: [
                CallbackQueryHandler(chose_method, pattern=callbacks.METHOD.pattern()),
                cancel_button,
                MessageHandler(not_a_command, method_expected),
            ],
            PROOF: [
                MessageHandler(f.PHOTO, got_photo),
                MessageHandler(f.Document.ALL, got_document),
                MessageHandler(f.TEXT & not_a_command, got_reference),
                cancel_button,
                MessageHandler(not_a_command, proof_expected),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern=callbacks.CONFIRM.pattern()),
                cancel_button,
                MessageHandler(not_a_command, confirm_expected),
            ],
        },
        fallbacks=[cancel_button],
        cancel=cancel_flow,
        timed_out=timed_out,
        replaced_text=views.replaced,
    )
