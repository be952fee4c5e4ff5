"""The command menus Telegram shows: per role and per language."""

from __future__ import annotations

import logging
from collections.abc import Collection

from telegram import Bot, BotCommandScopeChat
from telegram.error import TelegramError

from bot.context import BotApplication, BotContext
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator
from bot.services import languages, resellers, roles
from bot.services.resellers import Identity, Role
from bot.services.roles import Permission
from handlers.home.views import commands_for, default_commands

log = logging.getLogger(__name__)


async def publish_commands(app: BotApplication) -> None:
    """The command menus: one per language for everyone (Telegram picks it by the client's
    language), and each admin's own (the owners' and the staff admins'), in the language
    they chose."""
    catalogs = app.bot_data["i18n"]
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        await app.bot.set_my_commands(default_commands(catalogs.get(language)), language_code=code)
    settings, db = app.bot_data["settings"], app.bot_data["db"]
    allowed = {owner: roles.EVERYTHING for owner in settings.admin_ids}
    allowed |= {s.telegram_id: s.permissions for s in await roles.list_staff(db)}
    async with db.transaction() as session:
        chosen = await languages.languages_of(session, allowed)
    for admin_id, permissions in allowed.items():
        t = catalogs.get(chosen.get(admin_id))
        await publish_for(app.bot, admin_id, Role.ADMIN, t, permissions)


async def follow_role(
    context: BotContext, chat_id: int, identity: Identity, t: Translator, *, changed: bool = False
) -> None:
    """Give a private chat the menu of the role its user has now (a reseller's, a
    customer's), or back the default one for a stranger; once per change in this process
    (``changed``: the role changed, whatever this process last showed)."""
    shown: dict[int, tuple[Role, str, frozenset[Permission], bool]] = context.bot_data.setdefault(
        "chat_menus", {}
    )
    role = identity.role
    granted = frozenset(identity.permissions) if role == Role.ADMIN else frozenset()
    menu = (Role.RESELLER if role == Role.SUSPENDED else role, t.language, granted, identity.parent)
    unchanged = shown.get(chat_id) == menu or (chat_id not in shown and role == Role.STRANGER)
    if unchanged and not changed:
        return
    if role == Role.STRANGER:
        try:
            await context.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:
            log.info("cannot reset the commands of chat %s: %s", chat_id, exc)
    else:
        await publish_for(context.bot, chat_id, menu[0], t, granted, parent=identity.parent)
    shown[chat_id] = menu


async def follow_change(context: BotContext, user_id: int) -> None:
    """Someone else changed ``user_id``'s role (made them staff, or no longer): give their
    chat the menu of the role they have now, in their language."""
    identity = await resellers.identify(context.db, user_id, context.settings.admin_ids)
    async with context.db.transaction() as session:
        chosen = await languages.languages_of(session, [user_id])
    t = context.i18n.get(chosen.get(user_id))
    await follow_role(context, user_id, identity, t, changed=True)


async def publish_for(
    bot: Bot,
    chat_id: int,
    role: Role,
    t: Translator,
    permissions: Collection[Permission] = roles.EVERYTHING,
    *,
    parent: bool = False,
) -> None:
    """One person's command menu, for their role (an admin's permissions, a parent's
    sub-resellers), in their language."""
    menu = commands_for(role, t, permissions, parent=parent)
    try:
        await bot.set_my_commands(menu, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # e.g. an admin who never started the bot
        log.info("cannot set the commands of chat %s: %s", chat_id, exc)
