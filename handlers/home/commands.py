"""The command menus Telegram shows: per role and per language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommandScopeChat
from telegram.error import TelegramError

from bot.context import BotApplication, BotContext
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, Translator
from bot.services import announcement_authors, languages, resellers, roles
from bot.services.resellers import Identity, Role
from handlers.home.views import Menu, commands_for, default_commands

log = logging.getLogger(__name__)


def menu_of(identity: Identity, t: Translator) -> Menu:
    """The menu of the person ``identity`` is, in ``t``'s language: the commands they
    may use (a suspended reseller is told why on use of most, but may not announce)."""
    role = identity.role
    admin = role == Role.ADMIN
    return Menu(
        Role.RESELLER if role == Role.SUSPENDED else role,
        t.language,
        frozenset(identity.permissions) if admin else frozenset(),
        identity.parent,
        announcement_authors.may_announce(identity),
        sells=admin and identity.reseller is not None,
    )


async def publish_commands(app: BotApplication) -> None:
    """The command menus: one per language for everyone (Telegram picks it by the client's
    language), and each admin's own (the owners' and the staff admins'), in the language
    they chose."""
    catalogs = app.bot_data["i18n"]
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        await app.bot.set_my_commands(default_commands(catalogs.get(language)), language_code=code)
    settings, db = app.bot_data["settings"], app.bot_data["db"]
    staff = [s.telegram_id for s in await roles.list_staff(db)]
    admins = list(dict.fromkeys([*settings.admin_ids, *staff]))
    async with db.transaction() as session:
        chosen = await languages.languages_of(session, admins)
    for admin_id in admins:
        identity = await resellers.identify(db, admin_id, settings.admin_ids)
        if identity.role != Role.ADMIN:  # removed from staff a moment ago
            continue
        t = catalogs.get(chosen.get(admin_id))
        await publish_for(app.bot, admin_id, menu_of(identity, t), t)


async def follow_role(
    context: BotContext, chat_id: int, identity: Identity, t: Translator, *, changed: bool = False
) -> None:
    """Give a private chat the menu of the role its user has now (a reseller's, a
    customer's), or back the default one for a stranger; once per change in this process
    (``changed``: the role changed, whatever this process last showed)."""
    shown = _shown(context)
    menu = menu_of(identity, t)
    unchanged = shown.get(chat_id) == menu or (chat_id not in shown and menu.role == Role.STRANGER)
    if unchanged and not changed:
        return
    if menu.role == Role.STRANGER:
        try:
            await context.bot.delete_my_commands(scope=BotCommandScopeChat(chat_id))
        except TelegramError as exc:
            log.info("cannot reset the commands of chat %s: %s", chat_id, exc)
    else:
        await publish_for(context.bot, chat_id, menu, t)
    shown[chat_id] = menu


async def follow_language(
    context: BotContext, chat_id: int, identity: Identity, t: Translator
) -> None:
    """The private chat's menu in the language its user just chose, a stranger's too
    (Telegram picks the default menus by the client's language, not by the one chosen),
    remembered as shown so the next update does not set it again."""
    menu = menu_of(identity, t)
    await publish_for(context.bot, chat_id, menu, t)
    _shown(context)[chat_id] = menu


def _shown(context: BotContext) -> dict[int, Menu]:
    """The menu this process last showed each private chat, by chat id."""
    shown: dict[int, Menu] = context.bot_data.setdefault("chat_menus", {})
    return shown


async def follow_change(context: BotContext, user_id: int) -> None:
    """Someone else changed ``user_id``'s role (made them staff, or no longer; suspended
    or reactivated their reseller account): give their chat the menu of the role they
    have now, in their language."""
    identity = await resellers.identify(context.db, user_id, context.settings.admin_ids)
    async with context.db.transaction() as session:
        chosen = await languages.languages_of(session, [user_id])
    t = context.i18n.get(chosen.get(user_id))
    await follow_role(context, user_id, identity, t, changed=True)


async def publish_for(bot: Bot, chat_id: int, menu: Menu, t: Translator) -> None:
    """One person's command menu (``menu_of`` them), in their language."""
    commands = commands_for(menu, t)
    try:
        await bot.set_my_commands(commands, scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # e.g. an admin who never started the bot
        log.info("cannot set the commands of chat %s: %s", chat_id, exc)
