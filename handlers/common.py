"""Helpers every handler uses: who is asking, and answering in place."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from telegram import CallbackQuery, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.context import BotContext
from bot.i18n import Translator
from bot.services import resellers, roles
from bot.services.resellers import Identity, ResellerView, Role
from bot.services.roles import Permission
from handlers.pages import clip_answer, plain
from handlers.views import admins_only, no_permission, not_registered, reseller_suspended
from models import ResellerStatus


async def identify(update: Update, context: BotContext) -> Identity:
    """Who is asking, from settings and the database; never from the update's claims."""
    user = update.effective_user
    if user is None:
        return Identity(Role.STRANGER, None)
    return await resellers.identify(context.db, user.id, context.settings.admin_ids)


def is_admin(update: Update, context: BotContext) -> bool:
    """The owners are ADMIN_IDS from the settings, whatever chat or button the update
    names. Staff admins are not: what they may do is asked with ``may``."""
    user = update.effective_user
    return user is not None and context.settings.is_admin(user.id)


def own_wallet(identity: Identity) -> ResellerView | None:
    """The reseller whose wallet the asker may see: their own, if they have one."""
    if identity.role in (Role.RESELLER, Role.SUSPENDED, Role.ADMIN):
        return identity.reseller
    return None


async def show(update: Update, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
    """Answer a button by editing its message in place, a message with a new message."""
    query = update.callback_query
    if query is not None and query.message is not None:
        await answer(query)
        try:
            await query.edit_message_text(text, reply_markup=keyboard)
        except BadRequest as exc:
            # A second tap on the same button asks for the same screen: nothing to change.
            if not not_modified(exc):
                raise
        return
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, reply_markup=keyboard)


async def answer(query: CallbackQuery, text: str | None = None, *, alert: bool = False) -> None:
    """Answer a button, its plain ``text`` cut to the 200 characters Telegram accepts."""
    await query.answer(clip_answer(text) if text else None, show_alert=alert)


async def refuse(update: Update, text: str) -> None:
    """Say no: an alert on a button, a reply to a message. Changes nothing."""
    query = update.callback_query
    if query is not None:
        await answer(query, plain(text), alert=True)  # an answer is plain text
        return
    message = update.effective_message
    if message is not None:
        await message.reply_text(text)


def not_modified(exc: BadRequest) -> bool:
    """Telegram's answer to an edit that changes nothing, e.g. a second tap."""
    return "not modified" in exc.message.lower()


def matched(context: BotContext) -> str:
    """The first group of the callback pattern that routed this update here."""
    assert context.matches, "only for handlers registered with a pattern"
    return context.matches[0].group(1)


def clip(text: str, limit: int = 40) -> str:
    """User input quoted back in one short line (escape it before it goes into HTML)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the clock and the guards ------------------------------------------------------------

Clock = Callable[[], dt.datetime]
R = TypeVar("R")


def now(context: BotContext) -> dt.datetime:
    """The current time: the application's injected clock (as the jobs use), or the real one."""
    clock = context.bot_data.get("clock")
    return cast(Clock, clock)() if clock else dt.datetime.now(dt.UTC)


async def _translator(update: Update, context: BotContext) -> Translator:
    # Imported here: handlers.language imports this module.
    from handlers.language import translator

    return await translator(update, context)


def admin_only(
    handler: Callable[[Update, BotContext, Translator], Coroutine[Any, Any, R]],
) -> Callable[[Update, BotContext], Coroutine[Any, Any, R | None]]:
    """Run ``handler`` (with the asker's translator) for the owners; tell anyone else no."""

    @functools.wraps(handler)
    async def guarded(update: Update, context: BotContext) -> R | None:
        t = await _translator(update, context)
        if not await owner(update, context, t):
            return None
        return await handler(update, context, t)

    return guarded


def with_permission(
    permission: Permission,
) -> Callable[
    [Callable[[Update, BotContext, Translator], Coroutine[Any, Any, R]]],
    Callable[[Update, BotContext], Coroutine[Any, Any, R | None]],
]:
    """Run the handler (with the asker's translator) for the owners and for staff admins
    allowed ``permission``, checked in the database on every update; tell anyone else no."""

    def decorate(
        handler: Callable[[Update, BotContext, Translator], Coroutine[Any, Any, R]],
    ) -> Callable[[Update, BotContext], Coroutine[Any, Any, R | None]]:
        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> R | None:
            t = await _translator(update, context)
            if not await permitted(update, context, permission, t):
                return None
            return await handler(update, context, t)

        return guarded

    return decorate


async def owner(update: Update, context: BotContext, t: Translator) -> bool:
    """Whether the asker is an owner; if not, they are told no (and nothing changes)."""
    if is_admin(update, context):
        return True
    await refuse(update, _refusal(t, await _admin_permissions(update, context)))
    return False


async def may(update: Update, context: BotContext, permission: Permission) -> bool:
    """Whether the asker may do what ``permission`` covers (owners may do everything)."""
    return permission in (await _admin_permissions(update, context) or ())


async def permitted(
    update: Update, context: BotContext, permission: Permission, t: Translator
) -> bool:
    """``may``; if not, the asker is told no (and nothing changes)."""
    allowed = await _admin_permissions(update, context)
    if allowed is not None and permission in allowed:
        return True
    await refuse(update, _refusal(t, allowed))
    return False


async def _admin_permissions(update: Update, context: BotContext) -> frozenset[Permission] | None:
    """The asker's permissions, checked in the database; None if they are no admin."""
    user = update.effective_user
    if user is None:
        return None
    return await roles.admin_permissions(context.db, user.id, context.settings.admin_ids)


def _refusal(t: Translator, allowed: frozenset[Permission] | None) -> str:
    """A staff admin hears that their permissions do not cover it, anyone else that only
    admins can do it."""
    return admins_only(t) if allowed is None else no_permission(t)


async def active_reseller(
    update: Update, context: BotContext, t: Translator
) -> ResellerView | None:
    """The asker's reseller if it is active (an admin's own counts); otherwise they are
    told why not (suspended, or not registered) and None is returned."""
    identity = await identify(update, context)
    own = identity.reseller
    if own is not None and identity.role in (Role.RESELLER, Role.ADMIN):
        if own.status == ResellerStatus.ACTIVE:
            return own
        await refuse(update, reseller_suspended(t))  # an admin's own, suspended
        return None
    if identity.role == Role.SUSPENDED:
        await refuse(update, reseller_suspended(t))
    else:
        user = update.effective_user
        await refuse(update, not_registered(t, user.id if user else 0))
    return None
