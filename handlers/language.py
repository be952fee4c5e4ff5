"""The reader's language: looked up once per user, and /language to change it."""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import i18n, keyboards
from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import languages
from bot.services.resellers import Role
from handlers import commands
from handlers.common import identify, show

CACHE_SIZE = 50_000  # users whose language this process remembers
CHOOSE = "lang"


def _cache(context: BotContext) -> OrderedDict[int, str]:
    cache: OrderedDict[int, str] = context.bot_data.setdefault("language_cache", OrderedDict())
    return cache


def _remember(context: BotContext, user_id: int, language: str) -> None:
    cache = _cache(context)
    cache[user_id] = language
    cache.move_to_end(user_id)
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)


async def translator(update: Update, context: BotContext) -> Translator:
    """The asker's language: stored, or their Telegram client's on first contact."""
    user = update.effective_user
    if user is None:
        return context.i18n.get(None)
    language = _cache(context).get(user.id)
    if language is None:
        language = await languages.remember(
            context.db, user.id, i18n.pick(user.language_code), dt.datetime.now(dt.UTC)
        )
        _remember(context, user.id, language)
    return context.i18n.get(language)


def _choices(current: str) -> InlineKeyboardMarkup:
    rows = [
        [keyboards.button(("✅ " if code == current else "") + name, CHOOSE, code)]
        for code, name in i18n.LANGUAGES.items()
    ]
    return InlineKeyboardMarkup(rows)


async def ask(update: Update, context: BotContext) -> None:
    """/language: the languages, each in its own name."""
    t = await translator(update, context)
    await show(update, t._("🌐 Choose your language:"), _choices(t.language))


async def chose(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or not context.matches:
        return
    language = context.matches[0].group(1)
    await languages.choose(context.db, user.id, language, dt.datetime.now(dt.UTC))
    _remember(context, user.id, language)
    t = context.i18n.get(language)
    # The command menu first, so it is in the new language by the time they read this.
    identity = await identify(update, context)
    role = Role.RESELLER if identity.role == Role.SUSPENDED else identity.role
    await commands.publish_for(context.bot, user.id, role, t)
    await show(
        update, t._("✅ From now on I will write to you in English."), keyboards.back_to_menu(t)
    )


def register(app: BotApplication) -> None:
    app.add_handler(CommandHandler("language", ask, filters=filters.ChatType.PRIVATE))
    app.add_handler(CallbackQueryHandler(ask, pattern=f"^{keyboards.LANGUAGE}$"))
    pattern = "|".join(i18n.LANGUAGES)
    app.add_handler(CallbackQueryHandler(chose, pattern=rf"^{CHOOSE}:({pattern})$"))
