"""The reader's language: looked up once per user, and /language to change it.

A private chat is read in its user's language. The admin group is read in the language
its admins chose for it with /language there (English until they do).
"""

from __future__ import annotations

from collections import OrderedDict

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import CallbackQueryHandler, CommandHandler, filters

from bot import i18n, keyboards
from bot.context import BotApplication, BotContext
from bot.i18n import Translator
from bot.services import languages
from bot.services.roles import Permission
from handlers.common import identify, now, permitted, show
from handlers.reader import Reader
from handlers.views import choose_language, group_language_chosen, language_chosen

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
    return await translator_of(context, user.id, user.language_code)


async def translator_of(
    context: BotContext, user_id: int, client_language: str | None = None
) -> Translator:
    """A user's language when no update of theirs is at hand (a flow timing out)."""
    language = _cache(context).get(user_id)
    if language is None:
        language = await languages.remember(
            context.db, user_id, i18n.pick(client_language), now(context)
        )
        _remember(context, user_id, language)
    return context.i18n.get(language)


async def group_translator(context: BotContext) -> Translator:
    """What the admin group reads."""
    chat_id = context.settings.admin_chat_id
    return context.i18n.get(None) if chat_id is None else await translator_of(context, chat_id)


def _in_admin_group(update: Update, context: BotContext) -> bool:
    chat = update.effective_chat
    return chat is not None and chat.id == context.settings.admin_chat_id


async def chat_translator(update: Update, context: BotContext) -> Translator:
    """What everyone in this update's chat reads: the admin group's language in the admin
    group, the user's own elsewhere (an answer to a button is the user's alone: use
    ``translator`` for it)."""
    if _in_admin_group(update, context):
        return await group_translator(context)
    return await translator(update, context)


async def reader(update: Update, context: BotContext) -> Reader:
    """The asker as the reader of a screen: their language, the bot's currency and zone."""
    return Reader.of(context.settings, await translator(update, context))


def _choices(current: str) -> InlineKeyboardMarkup:
    rows = [
        [keyboards.button(("✅ " if code == current else "") + name, CHOOSE, code)]
        for code, name in i18n.LANGUAGES.items()
    ]
    return InlineKeyboardMarkup(rows)


async def _may_choose_for_group(update: Update, context: BotContext) -> bool:
    """The admin group is where top-ups are decided: its language is for those who may
    decide them to choose; anyone else is told no."""
    return await permitted(update, context, Permission.TOPUPS, await translator(update, context))


async def ask(update: Update, context: BotContext) -> None:
    """/language: the languages, each in its own name (in the admin group: its language)."""
    if _in_admin_group(update, context) and not await _may_choose_for_group(update, context):
        return
    t = await chat_translator(update, context)
    await show(update, choose_language(t), _choices(t.language))


async def chose(update: Update, context: BotContext) -> None:
    user = update.effective_user
    if user is None or not context.matches:
        return
    # Imported here: handlers.home imports this module.
    from handlers.home.commands import follow_language

    language = context.matches[0].group(1)
    if _in_admin_group(update, context):
        if not await _may_choose_for_group(update, context):
            return
        group = context.settings.admin_chat_id
        assert group is not None
        await languages.choose(context.db, group, language, now(context))
        _remember(context, group, language)
        t = context.i18n.get(language)
        await show(update, group_language_chosen(t))
        return
    await languages.choose(context.db, user.id, language, now(context))
    _remember(context, user.id, language)
    t = context.i18n.get(language)
    # The command menu first, so it is in the new language by the time they read this.
    identity = await identify(update, context)
    await follow_language(context, user.id, identity, t)
    await show(update, language_chosen(t), keyboards.back_to_menu(t))


def register(app: BotApplication) -> None:
    where: filters.BaseFilter = filters.ChatType.PRIVATE
    group = app.bot_data["settings"].admin_chat_id
    if group is not None:
        where = where | filters.Chat(group)
    app.add_handler(CommandHandler("language", ask, filters=where))
    app.add_handler(CallbackQueryHandler(ask, pattern=f"^{keyboards.LANGUAGE}$"))
    pattern = "|".join(i18n.LANGUAGES)
    app.add_handler(CallbackQueryHandler(chose, pattern=rf"^{CHOOSE}:({pattern})$"))
