"""The command menus Telegram shows: per role and per language."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeChat
from telegram.error import TelegramError

from bot.context import BotApplication
from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES, SOURCE, Translator
from bot.services import languages
from bot.services.resellers import Role

log = logging.getLogger(__name__)


def commands_for(role: Role, t: Translator = SOURCE) -> list[BotCommand]:
    """The command menu Telegram shows, for one role, in one language."""
    everyone = [
        BotCommand("start", t._("Main menu")),
        BotCommand("help", t._("What this bot does")),
        BotCommand("language", t._("Change the language")),
    ]
    if role == Role.CUSTOMER:
        return [
            *everyone,
            BotCommand("status", t._("Your subscription")),
            BotCommand("unlink", t._("Unlink this chat from your subscription")),
        ]
    if role == Role.STRANGER:
        return everyone
    seller = [
        BotCommand("balance", t._("Your balance and credits")),
        BotCommand("history", t._("Your credit history")),
        BotCommand("activate", t._("Activate a new customer")),
        BotCommand("renew", t._("Renew a customer")),
        BotCommand("customers", t._("Your customers")),
        BotCommand("topup", t._("Ask for credits")),
        BotCommand("topups", t._("Your top-up requests")),
        BotCommand("cancel", t._("Leave the current step")),
    ]
    if role == Role.ADMIN:
        return [
            *everyone,
            BotCommand("pending", t._("Top-ups waiting for a decision")),
            BotCommand("resellers", t._("Resellers, suspend and reactivate")),
            BotCommand("audit", t._("Check every balance against the ledger")),
            *seller,
        ]
    return [*everyone, *seller]


def default_commands(t: Translator = SOURCE) -> list[BotCommand]:
    """Every command anyone may see: the menu of those whose role Telegram cannot know."""
    return [*commands_for(Role.RESELLER, t), *commands_for(Role.CUSTOMER, t)[3:]]


async def publish_commands(app: BotApplication) -> None:
    """The command menus: one per language for everyone (Telegram picks it by the client's
    language), and each admin's own, in the language they chose."""
    catalogs = app.bot_data["i18n"]
    for language in LANGUAGES:
        code = None if language == DEFAULT_LANGUAGE else language
        await app.bot.set_my_commands(default_commands(catalogs.get(language)), language_code=code)
    settings = app.bot_data["settings"]
    async with app.bot_data["db"].transaction() as session:
        chosen = await languages.languages_of(session, settings.admin_ids)
    for admin_id in settings.admin_ids:
        t = catalogs.get(chosen.get(admin_id))
        await publish_for(app.bot, admin_id, Role.ADMIN, t)


async def publish_for(bot: Bot, chat_id: int, role: Role, t: Translator) -> None:
    """One person's command menu, for their role, in their language."""
    try:
        await bot.set_my_commands(commands_for(role, t), scope=BotCommandScopeChat(chat_id))
    except TelegramError as exc:  # e.g. an admin who never started the bot
        log.info("cannot set the commands of chat %s: %s", chat_id, exc)
