"""The transfer flow's steps: recipient, amount, note (or Skip), confirmation, Send.

Every step asks the service again (``transfers.preview`` runs the checks ``send`` runs),
so a screen never shows a transfer that Send would refuse for a reason known then. Send
carries a nonce minted with the confirmation screen and the movement is keyed by it: a
second tap, even after the flow ended, sends nothing again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from telegram import Message, Update
from telegram.ext import ConversationHandler

from bot import keyboards
from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import transfers
from bot.services.transfer_rules import TransferError, check_note
from handlers import flow
from handlers.common import active_reseller, answer, now, show
from handlers.flow import FlowMessage
from handlers.language import reader
from handlers.reader import Reader
from handlers.topup.views import amount_problem
from handlers.transfer import callbacks as buttons
from handlers.transfer import views

RECIPIENT, AMOUNT, NOTE, CONFIRM = (
    "transfer:recipient",
    "transfer:amount",
    "transfer:note",
    "transfer:confirm",
)
DRAFT = "transfer_draft"
Step = str | int

# Refusals that send the sender back to the step that can fix them.
_RECIPIENT_CODES = frozenset(
    {"recipient_unknown", "recipient_unreadable", "recipient_ambiguous", "recipient_suspended",
     "recipient_self"}
)  # fmt: skip
_AMOUNT_CODES = frozenset({"insufficient", "daily_limit", "bad_amount", "amount_too_large"})


@dataclass
class TransferDraft(FlowMessage):
    """The answers so far, as plain values; names and balances are read at every step."""

    recipient: int = 0  # the receiver's Telegram id
    amount: int = 0  # hundredths
    note: str | None = None
    nonce: str = ""  # minted with the confirmation screen; Send is keyed by it


def _draft(context: BotContext) -> TransferDraft | None:
    return flow.draft(context, DRAFT, TransferDraft)


def _text(update: Update) -> str:
    message = update.effective_message
    return (message.text or "") if message is not None else ""


def _user(update: Update) -> int:
    return update.effective_user.id if update.effective_user else 0


async def _show(
    update: Update,
    context: BotContext,
    draft: TransferDraft,
    r: Reader,
    step: str,
    problem: str = "",
) -> Step:
    """Show ``step`` as the transfer is now; a refusal the step cannot fix ends the flow."""
    moment, zone, sender = now(context), context.settings.zone, _user(update)
    if update.callback_query is not None:
        await answer(update.callback_query)
    try:
        allowance = await transfers.allowance(context.db, sender, now=moment, zone=zone)
        if step == RECIPIENT:
            screen = views.ask_recipient(allowance, r, problem)
        elif step in (AMOUNT, NOTE):
            party = await transfers.find_recipient(context.db, sender, str(draft.recipient))
            if step == AMOUNT:
                screen = views.ask_amount(party, allowance, r, problem)
            else:
                screen = views.ask_note(party, draft.amount, r, problem)
        else:
            preview = await transfers.preview(
                context.db,
                sender_telegram_id=sender,
                recipient=draft.recipient,
                amount=draft.amount,
                note=draft.note,
                now=moment,
                zone=zone,
            )
            draft.nonce = secrets.token_urlsafe(9)
            screen = views.confirm(preview, draft.nonce, r, problem)
    except TransferError as exc:
        if exc.code in _RECIPIENT_CODES and step != RECIPIENT:
            return await _show(update, context, draft, r, RECIPIENT, views.problem(exc, r))
        if exc.code in _AMOUNT_CODES and step not in (RECIPIENT, AMOUNT):
            return await _show(update, context, draft, r, AMOUNT, views.problem(exc, r))
        await flow.render(context, draft, views.problem(exc, r), keyboards.back_to_menu(r.t))
        return flow.end(context, DRAFT)
    await flow.render(context, draft, *screen)
    return step


async def start(update: Update, context: BotContext) -> Step:
    """/transfer or 💸 Transfer: an active reseller allowed to transfer is asked whom to."""
    r = await reader(update, context)
    chat = update.effective_chat
    if chat is None or context.user_data is None:
        return ConversationHandler.END
    if await active_reseller(update, context, r.t) is None:
        return ConversationHandler.END
    try:
        allowance = await transfers.allowance(
            context.db, _user(update), now=now(context), zone=context.settings.zone
        )
    except TransferError as exc:
        await show(update, views.problem(exc, r), keyboards.back_to_menu(r.t))
        return ConversationHandler.END
    text, keyboard = views.ask_recipient(allowance, r)
    query = update.callback_query
    if query is not None and isinstance(query.message, Message):
        await answer(query)
        await query.edit_message_text(text, reply_markup=keyboard)
        message = query.message
    else:
        message = await context.bot.send_message(chat.id, text, reply_markup=keyboard)
    context.user_data[DRAFT] = TransferDraft(chat.id, message.message_id)
    return RECIPIENT


async def got_recipient(update: Update, context: BotContext) -> Step:
    draft, r = _draft(context), await reader(update, context)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        party = await transfers.find_recipient(context.db, _user(update), _text(update))
    except TransferError as exc:
        return await _show(update, context, draft, r, RECIPIENT, views.problem(exc, r))
    draft.recipient = party.telegram_id
    return await _show(update, context, draft, r, AMOUNT)


async def got_amount(update: Update, context: BotContext) -> Step:
    draft, r = _draft(context), await reader(update, context)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        amount = parse_amount(_text(update))
    except AmountError as exc:
        return await _show(update, context, draft, r, AMOUNT, amount_problem(exc, r))
    try:
        await transfers.preview(
            context.db,
            sender_telegram_id=_user(update),
            recipient=draft.recipient,
            amount=amount,
            note=None,
            now=now(context),
            zone=context.settings.zone,
        )
    except TransferError as exc:
        if exc.code in _AMOUNT_CODES:
            return await _show(update, context, draft, r, AMOUNT, views.problem(exc, r))
        return await _refused(update, context, draft, r, exc)  # the recipient changed
    draft.amount = amount
    return await _show(update, context, draft, r, NOTE)


async def _refused(
    update: Update, context: BotContext, draft: TransferDraft, r: Reader, exc: TransferError
) -> Step:
    if exc.code in _RECIPIENT_CODES:
        return await _show(update, context, draft, r, RECIPIENT, views.problem(exc, r))
    if update.callback_query is not None:
        await answer(update.callback_query)
    await flow.render(context, draft, views.problem(exc, r), keyboards.back_to_menu(r.t))
    return flow.end(context, DRAFT)


async def got_note(update: Update, context: BotContext) -> Step:
    draft, r = _draft(context), await reader(update, context)
    if draft is None:
        return flow.end(context, DRAFT)
    try:
        draft.note = check_note(_text(update))
    except TransferError as exc:
        return await _show(update, context, draft, r, NOTE, views.problem(exc, r))
    return await _show(update, context, draft, r, CONFIRM)


async def skip_note(update: Update, context: BotContext) -> Step:
    draft, r = _draft(context), await reader(update, context)
    if draft is None:
        return flow.end(context, DRAFT)
    draft.note = None
    return await _show(update, context, draft, r, CONFIRM)


async def send(update: Update, context: BotContext) -> Step | None:
    """✅ Send: the transfer keyed by the screen's nonce, then the new balance."""
    draft, r, query = _draft(context), await reader(update, context), update.callback_query
    if query is None:
        return None
    nonce = buttons.SEND.parse(context)
    if draft is None or nonce != draft.nonce:
        await sent_before(update, context)
        return None
    sender = _user(update)
    try:
        done = await transfers.send(
            context.db,
            sender_telegram_id=sender,
            recipient=draft.recipient,
            amount=draft.amount,
            note=draft.note,
            key=transfers.key_of(sender, nonce),
            now=now(context),
            zone=context.settings.zone,
        )
    except TransferError as exc:
        if exc.code in _AMOUNT_CODES:
            return await _show(update, context, draft, r, AMOUNT, views.problem(exc, r))
        return await _refused(update, context, draft, r, exc)
    await answer(query)
    await flow.render(context, draft, *views.sent(done, r))
    return flow.end(context, DRAFT)


async def sent_before(update: Update, context: BotContext) -> None:
    """A Send from an older screen, or tapped again once sent: nothing is sent again."""
    query = update.callback_query
    if query is None:
        return
    r = await reader(update, context)
    key = transfers.key_of(_user(update), buttons.SEND.parse(context))
    done = await transfers.sent_with(context.db, key)
    await answer(query, views.already_sent(r.t) if done else views.no_longer_valid(r.t), alert=True)


async def text_expected(update: Update, context: BotContext) -> None:
    """A photo, a sticker or the like where the step asks for a typed answer."""
    r = await reader(update, context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(views.text_expected(r.t))


async def buttons_expected(update: Update, context: BotContext) -> Step:
    """Text on the confirmation screen: say which buttons, the screen stays."""
    r = await reader(update, context)
    if update.effective_message is not None:
        await update.effective_message.reply_text(views.use_buttons(r.t))
    return CONFIRM


async def cancel(update: Update, context: BotContext) -> object:
    r = await reader(update, context)
    return await flow.leave(update, context, DRAFT, views.cancelled(r.t))


async def timed_out(update: Update, context: BotContext) -> None:
    r = await reader(update, context)
    await flow.expire(context, DRAFT, views.timed_out(r.t))
