"""The admins' side of top-ups: the group post, Approve, Reject with a reason, /pending.

Only the owners and the staff admins allowed top-ups may act, checked on every tap. The
admin group has no reader of its own: what is posted in a group is in the default
language; what is said to one admin (a button's answer, a screen in their private chat)
is in theirs.
"""

from __future__ import annotations

import logging

from telegram import Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.context import BotContext
from bot.i18n import Translator
from bot.services import topup_decisions, topup_reads, topups
from bot.services.roles import Permission
from bot.services.topup_decisions import AlreadyDecided, ReasonTooLong, ResellerSuspended
from bot.services.topup_reads import RequestView, TopUpError
from handlers.common import (
    answer,
    not_modified,
    now,
    permitted,
    show,
    with_permission,
)
from handlers.home import fallback
from handlers.language import chat_translator, group_translator, translator
from handlers.reader import Reader
from handlers.topup import admin_views, callbacks, list_views, views
from models import ProofKind, TopUpStatus

log = logging.getLogger(__name__)


async def _group_reader(context: BotContext) -> Reader:
    return Reader.of(context.settings, await group_translator(context))


async def _chat_reader(update: Update, context: BotContext) -> Reader:
    """A private chat is read by the admin who is in it; the admin group in its language."""
    return Reader.of(context.settings, await chat_translator(update, context))


def _admin_name(update: Update) -> str:
    user = update.effective_user
    if user is None:
        return ""
    return (f"@{user.username}" if user.username else user.full_name)[:128]


async def post_to_admins(context: BotContext, request: RequestView) -> None:
    """Post a new request to the admin group with its proof and the decision buttons."""
    chat_id = context.settings.admin_chat_id
    if chat_id is None:
        log.warning("ADMIN_CHAT_ID is not set; top-up #%s is only listed in /pending", request.id)
        return
    balance = await topup_reads.current_balance(context.db, request.reseller_id)
    r = await _group_reader(context)
    text, keyboard = admin_views.admin_post(request, balance.balance, r)
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


async def refresh_admin_post(context: BotContext, request: RequestView, note: bool = False) -> None:
    """Show the request's state on its group post: buttons while pending, then who decided
    (``note``: why an approval did not happen).

    Best effort: the decision is already saved and the reseller's notice queued, so a
    failed edit (a 502, a deleted post) is logged and nothing more.
    """
    if request.admin_chat_id is None or request.admin_message_id is None:
        return
    r = await _group_reader(context)
    balance = await topup_reads.current_balance(context.db, request.reseller_id)
    shown_note = admin_views.suspended_note(r.t) if note else None
    text, keyboard = admin_views.admin_post(request, balance.balance, r, shown_note)
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


@with_permission(Permission.TOPUPS)
async def approve(update: Update, context: BotContext, t: Translator) -> None:
    """✅ Approve: once, whoever taps and however often."""
    query = update.callback_query
    user = update.effective_user
    if query is None or user is None:
        return
    r = Reader.of(context.settings, t)
    tapped = callbacks.APPROVE.parse(context)
    try:
        decision = await topup_decisions.approve(
            context.db,
            request_id=tapped.id,
            admin_id=user.id,
            admin_name=_admin_name(update),
            now=now(context),
        )
    except AlreadyDecided as exc:
        await answer(query, views.already(exc.request, t), alert=True)
        await refresh_admin_post(context, exc.request)
        return
    except ResellerSuspended as exc:
        # It stays pending; the group sees why on the request's post.
        await answer(query, admin_views.suspended_reseller(exc.request, t), alert=True)
        await refresh_admin_post(context, exc.request, note=True)
        return
    except TopUpError as exc:
        await answer(query, views.refusal(exc, r), alert=True)
        return
    # The reseller's notice is queued with the decision; the rest is for the admins.
    request = decision.request
    await answer(query, admin_views.approved(request.id, t))
    await refresh_admin_post(context, request)
    await _refresh_pending_list(update, context, t, request, tapped.page)


@with_permission(Permission.TOPUPS)
async def ask_reject_reason(update: Update, context: BotContext, t: Translator) -> None:
    """❌ Reject: ask for the reason in a prompt the admin replies to."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    request = await topup_reads.get_request(context.db, callbacks.REJECT.parse(context).id)
    if request is None:
        await answer(query, admin_views.no_such_request(t), alert=True)
        return
    if request.status != TopUpStatus.PENDING:
        await answer(query, views.already(request, t), alert=True)
        await refresh_admin_post(context, request)
        return
    await answer(query, admin_views.reply_with_reason(t))
    text, keyboard = admin_views.reject_prompt(request, await _chat_reader(update, context))
    prompt = await context.bot.send_message(chat.id, text, reply_markup=keyboard)
    # The reply is matched by this message, not by its words: any language, any restart.
    await topup_decisions.open_reject_prompt(
        context.db,
        chat_id=chat.id,
        message_id=prompt.message_id,
        request_id=request.id,
        now=now(context),
    )


async def _reject(
    update: Update, context: BotContext, t: Translator, request_id: int, reason: str | None
) -> str | None:
    """Reject (the reseller's notice is queued with it), then update the group post.

    Returns what to say to the admin if it did not happen. A reason that is too long is
    raised, so that the prompt stays open for a shorter one.
    """
    user = update.effective_user
    assert user is not None
    try:
        decision = await topup_decisions.reject(
            context.db,
            request_id=request_id,
            admin_id=user.id,
            admin_name=_admin_name(update),
            reason=reason,
            now=now(context),
        )
    except AlreadyDecided as exc:
        await refresh_admin_post(context, exc.request)
        return views.already(exc.request, t)
    except ReasonTooLong:
        raise
    except TopUpError as exc:
        return views.refusal(exc, Reader.of(context.settings, t))
    await refresh_admin_post(context, decision.request)
    return None


@with_permission(Permission.TOPUPS)
async def reject_without_reason(update: Update, context: BotContext, t: Translator) -> None:
    """The prompt's button: reject with no reason."""
    query = update.callback_query
    chat = update.effective_chat
    if query is None or chat is None:
        return
    request_id = callbacks.REJECT_WITHOUT_REASON.parse(context).id
    problem = await _reject(update, context, t, request_id, None)
    if problem:
        await answer(query, problem, alert=True)
    else:
        await answer(query, admin_views.rejected(request_id, t))
    if isinstance(query.message, Message):
        await topup_decisions.close_reject_prompt(
            context.db, chat_id=chat.id, message_id=query.message.message_id, now=now(context)
        )
        shown = (await _chat_reader(update, context)).t
        await query.edit_message_text(
            problem or admin_views.rejected_without_reason(request_id, shown)
        )


async def got_reject_reason(update: Update, context: BotContext) -> None:
    """A reply to one of the bot's messages: if that message is a prompt (looked up in the
    database, so any language and any restart), the reply is the reason."""
    message = update.effective_message
    if message is None or message.reply_to_message is None or message.text is None:
        return
    prompt_id = message.reply_to_message.message_id
    prompt = await topup_decisions.reject_prompt(
        context.db, chat_id=message.chat_id, message_id=prompt_id
    )
    if prompt is None:
        # A reply to some other message of the bot's is what it would be without the reply.
        if message.chat.type == ChatType.PRIVATE:
            await fallback.stray_message(update, context)
        return
    t = await translator(update, context)
    if not await permitted(update, context, Permission.TOPUPS, t):
        return
    shown = (await _chat_reader(update, context)).t
    if not prompt.open:
        await message.reply_text(admin_views.rejection_closed(shown))
        return
    try:
        problem = await _reject(update, context, shown, prompt.request_id, message.text)
    except ReasonTooLong as exc:  # the prompt stays open for a shorter reason
        await message.reply_text(views.refusal(exc, Reader.of(context.settings, shown)))
        return
    await topup_decisions.close_reject_prompt(
        context.db, chat_id=message.chat_id, message_id=prompt_id, now=now(context)
    )
    try:
        await context.bot.edit_message_text(
            problem or admin_views.rejected_because(prompt.request_id, message.text, shown),
            chat_id=message.chat_id,
            message_id=prompt_id,
        )
    except BadRequest as exc:
        log.info("could not close the rejection prompt: %s", exc)


@with_permission(Permission.TOPUPS)
async def pending(update: Update, context: BotContext, t: Translator) -> None:
    """/pending: the requests waiting for an admin, a page at a time, each with its buttons."""
    requests = await topup_reads.list_pending(context.db)
    r = await _chat_reader(update, context)  # in the admin group, the group's language
    await show(update, *list_views.pending(requests, callbacks.PENDING.page(context), r))


async def _refresh_pending_list(
    update: Update, context: BotContext, t: Translator, decided: RequestView, page: int
) -> None:
    """If the tap came from a /pending list rather than the request's post, redraw its page."""
    query = update.callback_query
    if query is None or not isinstance(query.message, Message):
        return
    tapped = (query.message.chat_id, query.message.message_id)
    if tapped == (decided.admin_chat_id, decided.admin_message_id):
        return
    requests = await topup_reads.list_pending(context.db)
    text, keyboard = list_views.pending(requests, page, await _chat_reader(update, context))
    try:
        await query.edit_message_text(text, reply_markup=keyboard)
    except BadRequest as exc:
        if not not_modified(exc):
            log.warning("could not redraw the pending list: %s", exc)
    except TelegramError as exc:
        log.warning("could not redraw the pending list: %s", exc)
