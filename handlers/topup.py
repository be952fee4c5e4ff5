"""Top-ups: the reseller's request flow, and the admins' decisions in the group.

Reseller: /topup (or ➕ Top up) -> amount -> price and payment method -> proof ->
summary -> Confirm. One message is edited step by step. Admins: the request is posted to
ADMIN_CHAT_ID with Approve / Reject; only ADMIN_IDS may act, checked on every tap.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import keyboards
from bot.context import BotApplication, BotContext
from bot.money import AmountError, format_number, parse_amount
from bot.services import topups
from bot.services.pricing import Method, Quote
from bot.services.resellers import Role
from bot.services.topups import (
    AlreadyDecided,
    Limits,
    Proof,
    ReasonTooLong,
    RequestView,
    ResellerSuspended,
    TopUpError,
)
from handlers import flow, pages
from handlers.common import (
    ADMINS_ONLY,
    NOT_REGISTERED,
    answer,
    clip,
    identify,
    is_admin,
    local_date,
    matched,
    money,
    not_modified,
    refuse,
    show,
)
from handlers.flow import FlowMessage
from models import ProofKind, TopUpStatus

log = logging.getLogger(__name__)

# The flow's steps (state names are unique across every flow: see handlers/flow.py).
AMOUNT, METHOD, PROOF, CONFIRM = "topup:amount", "topup:method", "topup:proof", "topup:confirm"
DRAFT = "topup_draft"
REJECT_PROMPTS = "topup_reject_prompts"
REJECT_PROMPT_TITLE = "Rejecting top-up #"
PROOF_HINT = (
    "Send the proof of payment: a photo or a PDF of the receipt, or the transaction id as text."
)
PAGE_ITEMS = 10  # requests on one page of /pending or /topups, with their buttons
STATUS_LABELS = {
    TopUpStatus.PENDING: "⏳ pending",
    TopUpStatus.APPROVED: "✅ approved",
    TopUpStatus.REJECTED: "❌ rejected",
    TopUpStatus.EXPIRED: "⌛ expired",
    TopUpStatus.CANCELLED: "🚫 cancelled",
}


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


def _price(amount: int, context: BotContext) -> str:
    return f"{format_number(amount)} {escape(context.settings.price_currency)}"


def _cancel_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[keyboards.button("✖️ Cancel", keyboards.TOPUP_CANCEL_FLOW)]])


def _draft(context: BotContext) -> Draft | None:
    return flow.draft(context, DRAFT, Draft)


def _ask_amount(context: BotContext, problem: str | None = None) -> str:
    lim = limits(context)
    text = (
        "<b>Top up</b>\nHow many credits do you want? Send a number between "
        f"{format_number(lim.min_credits)} and {format_number(lim.max_credits)}, like 100 "
        "or 100.50."
    )
    return f"⚠️ {escape(problem)}\n\n{text}" if problem else text


# --- the reseller's flow -------------------------------------------------------------------


async def start_topup(update: Update, context: BotContext) -> int | str:
    """Entry: check the reseller may top up at all, then ask how many credits."""
    user = update.effective_user
    chat = update.effective_chat
    if user is None or chat is None:
        return ConversationHandler.END
    identity = await identify(update, context)
    if identity.reseller is None or identity.role not in (Role.RESELLER, Role.ADMIN):
        if identity.role == Role.SUSPENDED:
            await refuse(update, "Your reseller account is suspended. Contact an admin.")
        else:
            await refuse(update, NOT_REGISTERED.format(user_id=user.id))
        return ConversationHandler.END
    try:
        await topups.can_start(context.db, user.id, limits(context))
    except TopUpError as exc:
        await show(update, escape(str(exc)), keyboards.back_to_menu())
        return ConversationHandler.END

    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await answer(query)
        message = query.message
        await query.edit_message_text(_ask_amount(context), reply_markup=_cancel_keyboard())
    else:
        message = await context.bot.send_message(
            chat.id, _ask_amount(context), reply_markup=_cancel_keyboard()
        )
    assert context.user_data is not None
    context.user_data[DRAFT] = Draft(chat_id=chat.id, message_id=message.message_id)
    return AMOUNT


def _methods_keyboard(methods: list[Method]) -> InlineKeyboardMarkup:
    rows = [[keyboards.button(f"💳 {m.name}", "tu", "m", m.id)] for m in methods]
    rows.append([keyboards.button("✖️ Cancel", keyboards.TOPUP_CANCEL_FLOW)])
    return InlineKeyboardMarkup(rows)


def _price_text(draft: Draft, context: BotContext, problem: str | None = None) -> str:
    assert draft.quote is not None
    q = draft.quote
    text = (
        f"<b>Top up: {money(q.credits, context)}</b>\n"
        f"Price per credit: {_price(q.unit_price, context)}\n"
        f"Total to pay: <b>{_price(q.total, context)}</b>\n\n"
        "How will you pay?"
    )
    return f"⚠️ {escape(problem)}\n\n{text}" if problem else text


async def got_amount(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return ConversationHandler.END
    lim = limits(context)
    try:
        credits = parse_amount(message.text, max_amount=lim.max_credits)
        quote, methods = await topups.price(context.db, credits, lim)
    except (AmountError, TopUpError) as exc:
        # Name the input: a second mistake must change the screen too.
        problem = f"“{clip(message.text)}”: {exc}"
        await flow.render(context, draft, _ask_amount(context, problem), _cancel_keyboard())
        return AMOUNT
    draft.credits, draft.quote, draft.methods = credits, quote, methods
    await flow.render(context, draft, _price_text(draft, context), _methods_keyboard(methods))
    return METHOD


async def amount_expected(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    if draft is None:
        return ConversationHandler.END
    await flow.render(
        context, draft, _ask_amount(context, "Send the number of credits as text."),
        _cancel_keyboard(),
    )  # fmt: skip
    return AMOUNT


async def chose_method(update: Update, context: BotContext) -> int | str:
    query = update.callback_query
    draft = _draft(context)
    if query is None or draft is None or draft.quote is None:
        return ConversationHandler.END
    method_id = int(matched(context))
    try:
        # The id comes from the button: check it against the server's own list.
        method = await topups.available_method(context.db, method_id, draft.quote.total)
    except TopUpError as exc:
        await answer(query, str(exc), alert=True)
        return METHOD
    await answer(query)
    draft.method = method
    text = (
        f"<b>Pay {_price(draft.quote.total, context)} by {escape(method.name)}</b>\n"
        f"{escape(method.instructions)}\n\n{PROOF_HINT}"
    )
    await flow.render(context, draft, text, _cancel_keyboard())
    return PROOF


async def method_expected(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    if draft is None or not draft.methods:
        return ConversationHandler.END
    await flow.render(
        context,
        draft,
        _price_text(draft, context, "Tap one of the payment methods below."),
        _methods_keyboard(draft.methods),
    )
    return METHOD


def _summary(draft: Draft, context: BotContext) -> str:
    assert draft.quote is not None and draft.method is not None and draft.proof is not None
    proof = {
        ProofKind.PHOTO: "photo of the receipt",
        ProofKind.DOCUMENT: "receipt document",
        ProofKind.REFERENCE: f"transaction id <code>{escape(draft.proof.reference or '')}</code>",
    }[draft.proof.kind]
    return (
        "<b>Check your top-up request</b>\n"
        f"Credits: {money(draft.quote.credits, context)}\n"
        f"Price per credit: {_price(draft.quote.unit_price, context)}\n"
        f"Total: <b>{_price(draft.quote.total, context)}</b>\n"
        f"Method: {escape(draft.method.name)}\n"
        f"Proof: {proof}\n\n"
        "Send it to the admins?"
    )


async def _ask_confirmation(context: BotContext, draft: Draft, proof: Proof) -> int | str:
    draft.proof = proof
    # A fresh nonce per confirmation screen: an older screen's Confirm is recognised as old.
    draft.nonce = secrets.token_urlsafe(9)
    keyboard = InlineKeyboardMarkup(
        [
            [
                keyboards.button("✅ Confirm", "tu", "c", draft.nonce),
                keyboards.button("✖️ Cancel", keyboards.TOPUP_CANCEL_FLOW),
            ]
        ]
    )
    await flow.render(context, draft, _summary(draft, context), keyboard)
    return CONFIRM


async def got_photo(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or not message.photo:
        return ConversationHandler.END
    return await _ask_confirmation(
        context, draft, Proof(ProofKind.PHOTO, file_id=message.photo[-1].file_id)
    )


async def got_document(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or message.document is None:
        return ConversationHandler.END
    mime = message.document.mime_type or ""
    if not (mime.startswith("image/") or mime == "application/pdf"):
        return await proof_expected(update, context, "That file is not an image or a PDF.")
    return await _ask_confirmation(
        context, draft, Proof(ProofKind.DOCUMENT, file_id=message.document.file_id)
    )


async def got_reference(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    message = update.effective_message
    if draft is None or message is None or message.text is None:
        return ConversationHandler.END
    try:
        reference = topups.check_reference(message.text)
    except TopUpError as exc:
        return await proof_expected(update, context, f"“{clip(message.text)}”: {exc}")
    return await _ask_confirmation(context, draft, Proof(ProofKind.REFERENCE, reference=reference))


async def proof_expected(
    update: Update, context: BotContext, problem: str = "That is not a proof of payment."
) -> int | str:
    draft = _draft(context)
    if draft is None or draft.method is None or draft.quote is None:
        return ConversationHandler.END
    text = (
        f"⚠️ {escape(problem)}\n\n"
        f"<b>Pay {_price(draft.quote.total, context)} by {escape(draft.method.name)}</b>\n"
        f"{escape(draft.method.instructions)}\n\n{PROOF_HINT}"
    )
    await flow.render(context, draft, text, _cancel_keyboard())
    return PROOF


async def confirm(update: Update, context: BotContext) -> int | str:
    query = update.callback_query
    user = update.effective_user
    draft = _draft(context)
    if query is None or user is None or draft is None:
        return ConversationHandler.END
    nonce = matched(context)
    if nonce != draft.nonce or draft.quote is None or draft.method is None or not draft.proof:
        await answer(query, "This confirmation is no longer valid.", alert=True)
        return CONFIRM
    await answer(query)
    try:
        request, created = await topups.create_request(
            context.db,
            telegram_id=user.id,
            credits=draft.quote.credits,
            method_id=draft.method.id,
            proof=draft.proof,
            key=_request_key(user.id, nonce),
            limits=limits(context),
        )
    except TopUpError as exc:
        await flow.render(context, draft, f"⚠️ {escape(str(exc))}", keyboards.back_to_menu())
        return _end(context)
    if created:
        await post_to_admins(context, request)
    await flow.render(context, draft, _submitted_text(request, context), keyboards.back_to_menu())
    return _end(context)


def _request_key(user_id: int, nonce: str) -> str:
    return f"tu:{user_id}:{nonce}"


def _submitted_text(request: RequestView, context: BotContext) -> str:
    return (
        f"✅ <b>Top-up request #{request.id} sent</b>\n"
        f"{money(request.credits, context)} for {_price(request.total_price, context)}.\n"
        "An admin will check your payment; you will get a message here. "
        "See your requests with /topups."
    )


async def confirm_after_end(update: Update, context: BotContext) -> None:
    """Confirm tapped again after the flow ended: show the first result, submit nothing."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    found = await topups.find_by_key(context.db, _request_key(user.id, matched(context)))
    if found is None or found.reseller_telegram_id != user.id:
        await answer(query, "This confirmation is no longer valid.", alert=True)
        return
    await answer(query, f"Request #{found.id} was already sent ({found.status.value}).", alert=True)


def _end(context: BotContext) -> int:
    return flow.end(context, DRAFT)


async def cancel_flow(update: Update, context: BotContext) -> int | str:
    return await flow.leave(
        update, context, DRAFT, "Top-up cancelled. Nothing was sent to the admins."
    )


async def timed_out(update: Update, context: BotContext) -> None:
    await flow.expire(context, DRAFT, "⏱ This top-up timed out. Send /topup to start again.")


async def confirm_expected(update: Update, context: BotContext) -> int | str:
    draft = _draft(context)
    if draft is None or update.effective_message is None:
        return ConversationHandler.END
    await update.effective_message.reply_text("Tap ✅ Confirm or ✖️ Cancel on the summary above.")
    return CONFIRM


# --- the admins' side ----------------------------------------------------------------------


def _admin_text(
    request: RequestView, context: BotContext, balance: int, note: str | None = None
) -> str:
    """The group post of a request: a caption under a proof file, or a text of its own."""
    who = escape(request.reseller_name)
    if request.reseller_username:
        who += f" (@{escape(request.reseller_username)})"
    lines = [
        f"🧾 <b>Top-up #{request.id}</b> · {STATUS_LABELS[request.status]}",
        f"Reseller: {who} · id <code>{request.reseller_telegram_id}</code>",
        f"Credits: <b>{money(request.credits, context)}</b>",
        f"Price: {_price(request.unit_price, context)} per credit · "
        f"total <b>{_price(request.total_price, context)}</b>",
        f"Method: {escape(request.method_name)}",
    ]
    if request.proof.kind == ProofKind.REFERENCE:
        lines.append(f"Reference: <code>{escape(request.proof.reference or '')}</code>")
    lines.append(f"Reseller balance: {money(balance, context)}")
    lines.append(f"Requested: {local_date(request.created_at, context)}")
    lines.append(_decision_line(request, context))
    if note:
        lines.append(note)
    limit = pages.TEXT_LIMIT if request.proof.kind == ProofKind.REFERENCE else pages.CAPTION_LIMIT
    return pages.fit([line for line in lines if line], limit)


def _decision_line(request: RequestView, context: BotContext) -> str:
    when = (
        request.decided_at.astimezone(context.settings.zone).strftime("%Y-%m-%d %H:%M")
        if request.decided_at
        else ""
    )
    by = escape(request.decided_by_name or "an admin")
    if request.status == TopUpStatus.APPROVED:
        return f"✅ Approved by {by} on {when}"
    if request.status == TopUpStatus.REJECTED:
        reason = f": {escape(request.reject_reason)}" if request.reject_reason else ""
        return f"❌ Rejected by {by} on {when}{reason}"
    if request.status == TopUpStatus.CANCELLED:
        return f"🚫 Cancelled by the reseller on {when}"
    if request.status == TopUpStatus.EXPIRED:
        return f"⌛ Expired on {when}"
    return ""


def _decision_keyboard(request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                keyboards.button("✅ Approve", "tu", "ok", request_id),
                keyboards.button("❌ Reject", "tu", "no", request_id),
            ]
        ]
    )


async def post_to_admins(context: BotContext, request: RequestView) -> None:
    """Post a new request to the admin group with its proof and the decision buttons."""
    chat_id = context.settings.admin_chat_id
    if chat_id is None:
        log.warning("ADMIN_CHAT_ID is not set; top-up #%s is only listed in /pending", request.id)
        return
    balance = await topups.current_balance(context.db, request.reseller_id)
    text = _admin_text(request, context, balance.balance)
    keyboard = _decision_keyboard(request.id)
    try:
        if request.proof.kind == ProofKind.PHOTO and request.proof.file_id:
            message = await context.bot.send_photo(
                chat_id, request.proof.file_id, caption=text, reply_markup=keyboard
            )
        elif request.proof.kind == ProofKind.DOCUMENT and request.proof.file_id:
            message = await context.bot.send_document(
                chat_id, request.proof.file_id, caption=text, reply_markup=keyboard
            )
        else:
            message = await context.bot.send_message(chat_id, text, reply_markup=keyboard)
    except TelegramError as exc:
        # The request is saved and pending: admins still find it with /pending.
        log.error("could not post top-up #%s to the admin chat: %s", request.id, exc)
        return
    await topups.record_admin_post(context.db, request.id, chat_id, message.message_id)


async def _refresh_admin_post(
    context: BotContext, request: RequestView, note: str | None = None
) -> None:
    """Show the request's state on its group post: buttons while pending, then who decided.

    Best effort: the decision is already saved and the reseller's notice queued, so a
    failed edit (a 502, a deleted post) is logged and nothing more.
    """
    if request.admin_chat_id is None or request.admin_message_id is None:
        return
    balance = await topups.current_balance(context.db, request.reseller_id)
    text = _admin_text(request, context, balance.balance, note)
    keyboard = _decision_keyboard(request.id) if request.status == TopUpStatus.PENDING else None
    try:
        if request.proof.kind == ProofKind.REFERENCE:
            await context.bot.edit_message_text(
                text,
                chat_id=request.admin_chat_id,
                message_id=request.admin_message_id,
                reply_markup=keyboard,
            )
        else:
            await context.bot.edit_message_caption(
                chat_id=request.admin_chat_id,
                message_id=request.admin_message_id,
                caption=text,
                reply_markup=keyboard,
            )
    except BadRequest as exc:
        if not not_modified(exc):
            log.warning("could not update the post of top-up #%s: %s", request.id, exc)
    except TelegramError as exc:
        log.warning("could not update the post of top-up #%s: %s", request.id, exc)


def _admin_name(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return "an admin"
    return (f"@{user.username}" if user.username else user.full_name)[:128]


def _already(request: RequestView) -> str:
    by = f" by {request.decided_by_name}" if request.decided_by_name else ""
    if request.status == TopUpStatus.CANCELLED:
        return f"Top-up #{request.id} was cancelled by the reseller."
    if request.status == TopUpStatus.EXPIRED:
        return f"Top-up #{request.id} has expired."
    return f"Top-up #{request.id} was already {request.status.value}{by}."


SUSPENDED_NOTE = (
    "⚠️ Not approved: the reseller is suspended. Reactivate them to approve it, or reject it."
)


async def approve(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    if not is_admin(update, context):
        await answer(query, ADMINS_ONLY, alert=True)
        return
    request_id = int(matched(context))
    try:
        decision = await topups.approve(
            context.db,
            request_id=request_id,
            admin_id=user.id,
            admin_name=_admin_name(update),
            now=dt.datetime.now(dt.UTC),
        )
    except AlreadyDecided as exc:
        await answer(query, _already(exc.request), alert=True)
        await _refresh_admin_post(context, exc.request)
        return
    except ResellerSuspended as exc:
        # It stays pending; the group sees why on the request's post.
        await answer(query, str(exc), alert=True)
        await _refresh_admin_post(context, exc.request, SUSPENDED_NOTE)
        return
    except TopUpError as exc:
        await answer(query, str(exc), alert=True)
        return
    # The reseller's notice is queued with the decision; the rest is for the admins.
    request = decision.request
    await answer(query, f"Top-up #{request.id} approved.")
    await _refresh_admin_post(context, request)
    await _refresh_pending_list(update, context, request)


async def ask_reject_reason(update: Update, context: BotContext) -> None:
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    if not is_admin(update, context):
        await answer(query, ADMINS_ONLY, alert=True)
        return
    request = await topups.get_request(context.db, int(matched(context)))
    if request is None:
        await answer(query, "There is no such top-up request.", alert=True)
        return
    if request.status != TopUpStatus.PENDING:
        await answer(query, _already(request), alert=True)
        await _refresh_admin_post(context, request)
        return
    await answer(query, "Reply to my message with the reason, or skip it.")
    prompt = await context.bot.send_message(
        chat.id,
        f"{REJECT_PROMPT_TITLE}{request.id} ({escape(request.reseller_name)}, "
        f"{money(request.credits, context)}).\n"
        "Reply to this message with the reason the reseller will see, or tap the button.",
        reply_markup=InlineKeyboardMarkup(
            [[keyboards.button("Reject without a reason", "tu", "skip", request.id)]]
        ),
    )
    assert context.chat_data is not None
    context.chat_data.setdefault(REJECT_PROMPTS, {})[prompt.message_id] = request.id


async def _reject(
    update: Update, context: BotContext, request_id: int, reason: str | None
) -> str | None:
    """Reject (the reseller's notice is queued with it), then update the group post.

    Returns what to say to the admin if it did not happen.
    """
    user = update.effective_user
    assert user is not None
    try:
        decision = await topups.reject(
            context.db,
            request_id=request_id,
            admin_id=user.id,
            admin_name=_admin_name(update),
            reason=reason,
            now=dt.datetime.now(dt.UTC),
        )
    except AlreadyDecided as exc:
        await _refresh_admin_post(context, exc.request)
        return _already(exc.request)
    except ReasonTooLong:
        raise
    except TopUpError as exc:
        return str(exc)
    await _refresh_admin_post(context, decision.request)
    return None


async def reject_without_reason(update: Update, context: BotContext) -> None:
    query = update.callback_query
    if query is None:
        return
    if not is_admin(update, context):
        await answer(query, ADMINS_ONLY, alert=True)
        return
    request_id = int(matched(context))
    problem = await _reject(update, context, request_id, None)
    if problem:
        await answer(query, problem, alert=True)
    else:
        await answer(query, f"Top-up #{request_id} rejected.")
    _forget_prompt(context, query.message.message_id if query.message else None)
    if isinstance(query.message, Message):
        await query.edit_message_text(
            escape(problem) if problem else f"Top-up #{request_id} rejected, no reason given."
        )


def _forget_prompt(context: BotContext, message_id: int | None) -> None:
    if context.chat_data is not None and message_id is not None:
        context.chat_data.get(REJECT_PROMPTS, {}).pop(message_id, None)


async def got_reject_reason(update: Update, context: BotContext) -> None:
    message = update.effective_message
    if message is None or message.reply_to_message is None or message.text is None:
        return
    if not is_admin(update, context):
        await message.reply_text(ADMINS_ONLY)
        return
    prompt_id = message.reply_to_message.message_id
    prompts: dict[int, int] = (context.chat_data or {}).get(REJECT_PROMPTS, {})
    request_id = prompts.get(prompt_id)
    if request_id is None:
        await message.reply_text("That rejection is no longer open. Tap ❌ Reject again.")
        return
    try:
        problem = await _reject(update, context, request_id, message.text)
    except ReasonTooLong as exc:  # the prompt stays open for a shorter reason
        await message.reply_text(str(exc))
        return
    _forget_prompt(context, prompt_id)
    try:
        await context.bot.edit_message_text(
            escape(problem)
            if problem
            else f"Top-up #{request_id} rejected: {escape(message.text.strip())}",
            chat_id=message.chat_id,
            message_id=prompt_id,
        )
    except BadRequest as exc:
        log.info("could not close the rejection prompt: %s", exc)


class _ReplyToRejectPrompt(filters.MessageFilter):
    """A reply to one of the bot's "Rejecting top-up #N" prompts."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        return bool(
            replied
            and replied.from_user
            and replied.from_user.is_bot
            and (replied.text or "").startswith(REJECT_PROMPT_TITLE)
        )


def _page_asked(context: BotContext, group: int = 1) -> int:
    """The page a button asked for (``group`` of its pattern), or the first."""
    found = context.matches[0].group(group) if context.matches else None
    return int(found) if found else 0


def _pending_view(
    requests: list[RequestView], page: int, context: BotContext
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the waiting requests, each with its buttons."""
    if not requests:
        return "🧾 No top-ups are waiting.", keyboards.back_to_menu()

    def header(at: int, count: int) -> str:
        where = f" · page {at + 1} of {count}" if count > 1 else ""
        return f"🧾 <b>Pending top-ups</b> ({len(requests)}){where}"

    items = [
        f"#{r.id} · {escape(r.reseller_name)} · {money(r.credits, context)} · "
        f"{_price(r.total_price, context)} · {escape(r.method_name)}"
        for r in requests
    ]
    shown = pages.paginate(items, page, header=header, max_items=PAGE_ITEMS)
    rows = [
        [
            keyboards.button(f"✅ #{r.id}", "tu", "ok", r.id, shown.page),
            keyboards.button(f"❌ #{r.id}", "tu", "no", r.id),
        ]
        for r in requests[shown.start : shown.stop]
    ]
    pager = keyboards.pager(keyboards.TOPUP_PENDING, shown.page, shown.pages)
    rows += [list(row) for row in pager.inline_keyboard]
    return shown.text, InlineKeyboardMarkup(rows)


async def pending(update: Update, context: BotContext) -> None:
    """/pending: the requests waiting for an admin, a page at a time, each with its buttons."""
    if not is_admin(update, context):
        await refuse(update, ADMINS_ONLY)
        return
    requests = await topups.list_pending(context.db)
    text, keyboard = _pending_view(requests, _page_asked(context), context)
    await show(update, text, keyboard)


async def _refresh_pending_list(update: Update, context: BotContext, decided: RequestView) -> None:
    """If the tap came from a /pending list rather than the request's post, redraw its page."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    tapped = (query.message.chat_id, query.message.message_id)
    if tapped == (decided.admin_chat_id, decided.admin_message_id):
        return
    requests = await topups.list_pending(context.db)
    text, keyboard = _pending_view(requests, _page_asked(context, 2), context)
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:
        if not not_modified(exc):
            log.warning("could not redraw the pending list: %s", exc)
    except TelegramError as exc:
        log.warning("could not redraw the pending list: %s", exc)


# --- the reseller's list -------------------------------------------------------------------


def _topups_view(
    requests: list[RequestView], page: int, context: BotContext
) -> tuple[str, InlineKeyboardMarkup]:
    """One page of the reseller's requests, newest first; pending ones can be cancelled."""
    new_or_menu = [
        keyboards.button("➕ Top up", keyboards.TOPUP_NEW),
        keyboards.button("⬅️ Menu", keyboards.MENU),
    ]
    if not requests:
        return "🧾 You have no top-up requests yet.", InlineKeyboardMarkup([new_or_menu])

    def header(at: int, count: int) -> str:
        return "🧾 <b>Your top-ups</b>" + (f" · page {at + 1} of {count}" if count > 1 else "")

    items = []
    for r in requests:
        line = (
            f"#{r.id} · {local_date(r.created_at, context)} · {money(r.credits, context)} "
            f"· {_price(r.total_price, context)} · {STATUS_LABELS[r.status]}"
        )
        if r.status == TopUpStatus.REJECTED and r.reject_reason:
            line += f" ({escape(r.reject_reason)})"
        items.append(line)
    shown = pages.paginate(items, page, header=header, max_items=PAGE_ITEMS)
    rows = [
        [keyboards.button(f"🚫 Cancel #{r.id}", "tu", "x", r.id, shown.page)]
        for r in requests[shown.start : shown.stop]
        if r.status == TopUpStatus.PENDING
    ]
    nav = []
    if shown.page > 0:
        nav.append(keyboards.button("◀️ Newer", keyboards.TOPUP_LIST, shown.page - 1))
    if shown.page < shown.pages - 1:
        nav.append(keyboards.button("Older ▶️", keyboards.TOPUP_LIST, shown.page + 1))
    if nav:
        rows.append(nav)
    rows.append(new_or_menu)
    return shown.text, InlineKeyboardMarkup(rows)


async def my_topups(update: Update, context: BotContext) -> None:
    """/topups: the reseller's requests, newest first, a page at a time."""
    await _show_topups(update, context, _page_asked(context))


async def _show_topups(update: Update, context: BotContext, page: int) -> None:
    user = update.effective_user
    if user is None:
        return
    identity = await identify(update, context)
    if identity.reseller is None:
        await refuse(update, NOT_REGISTERED.format(user_id=user.id))
        return
    requests = await topups.list_for_reseller(context.db, user.id)
    text, keyboard = _topups_view(requests, page, context)
    await show(update, text, keyboard)


async def cancel_request(update: Update, context: BotContext) -> None:
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    try:
        request = await topups.cancel(
            context.db,
            request_id=int(matched(context)),
            telegram_id=user.id,
            now=dt.datetime.now(dt.UTC),
        )
    except AlreadyDecided as exc:
        await answer(query, _already(exc.request), alert=True)
        return
    except TopUpError as exc:
        await answer(query, str(exc), alert=True)
        return
    await _refresh_admin_post(context, request)
    await _show_topups(update, context, _page_asked(context, 2))


async def stray_cancel(update: Update, context: BotContext) -> None:
    if update.callback_query is not None:
        await answer(update.callback_query, "This top-up has already ended.", alert=True)


def conversation() -> flow.Flow:
    """The top-up flow's steps, for the one conversation all flows share."""
    private = filters.ChatType.PRIVATE
    not_a_command = ~filters.COMMAND
    cancel_button: CallbackQueryHandler[BotContext, object] = CallbackQueryHandler(
        cancel_flow, pattern=f"^{keyboards.TOPUP_CANCEL_FLOW}$"
    )
    return flow.Flow(
        name="topup",
        draft_key=DRAFT,
        entry_points=[
            CommandHandler("topup", start_topup, filters=private),
            CallbackQueryHandler(start_topup, pattern=f"^{keyboards.TOPUP_NEW}$"),
        ],
        states={
            AMOUNT: [
                MessageHandler(filters.TEXT & not_a_command, got_amount),
                cancel_button,
                MessageHandler(not_a_command, amount_expected),
            ],
            METHOD: [
                CallbackQueryHandler(chose_method, pattern=r"^tu:m:(\d{1,9})$"),
                cancel_button,
                MessageHandler(not_a_command, method_expected),
            ],
            PROOF: [
                MessageHandler(filters.PHOTO, got_photo),
                MessageHandler(filters.Document.ALL, got_document),
                MessageHandler(filters.TEXT & not_a_command, got_reference),
                cancel_button,
                MessageHandler(not_a_command, proof_expected),
            ],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern=r"^tu:c:([\w-]{1,32})$"),
                cancel_button,
                MessageHandler(not_a_command, confirm_expected),
            ],
        },
        fallbacks=[cancel_button],
        cancel=cancel_flow,
        timed_out=timed_out,
        replaced_text=lambda t: t._(
            "⏹ Top-up cancelled: you started something else. Nothing was sent."
        ),
    )


def register(app: BotApplication) -> None:
    """The top-up screens outside the flow (the flow itself is in ``conversation``)."""
    private = filters.ChatType.PRIVATE
    not_a_command = ~filters.COMMAND
    app.add_handler(CallbackQueryHandler(confirm_after_end, pattern=r"^tu:c:([\w-]{1,32})$"))
    app.add_handler(CallbackQueryHandler(stray_cancel, pattern=f"^{keyboards.TOPUP_CANCEL_FLOW}$"))
    app.add_handler(CommandHandler("topups", my_topups, filters=private))
    app.add_handler(
        CallbackQueryHandler(my_topups, pattern=rf"^{keyboards.TOPUP_LIST}(?::(\d{{1,6}}))?$")
    )
    app.add_handler(
        CallbackQueryHandler(cancel_request, pattern=r"^tu:x:(\d{1,9})(?::(\d{1,6}))?$")
    )
    app.add_handler(CommandHandler("pending", pending))
    app.add_handler(
        CallbackQueryHandler(pending, pattern=rf"^{keyboards.TOPUP_PENDING}(?::(\d{{1,6}}))?$")
    )
    app.add_handler(CallbackQueryHandler(approve, pattern=r"^tu:ok:(\d{1,9})(?::(\d{1,6}))?$"))
    app.add_handler(CallbackQueryHandler(ask_reject_reason, pattern=r"^tu:no:(\d{1,9})$"))
    app.add_handler(CallbackQueryHandler(reject_without_reason, pattern=r"^tu:skip:(\d{1,9})$"))
    app.add_handler(
        MessageHandler(
            filters.REPLY & filters.TEXT & not_a_command & _ReplyToRejectPrompt(),
            got_reject_reason,
        )
    )
