"""The callback context every handler and job receives."""

from __future__ import annotations

from typing import Any, cast

from telegram.ext import Application, CallbackContext, ContextTypes, ExtBot, JobQueue

from bot.db import Database
from bot.i18n import Catalogs
from bot.settings import Settings


class BotContext(CallbackContext[ExtBot[Any], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Adds typed access to the settings and the database the application was built with."""

    @property
    def settings(self) -> Settings:
        return cast(Settings, self.bot_data["settings"])

    @property
    def db(self) -> Database:
        return cast(Database, self.bot_data["db"])

    @property
    def i18n(self) -> Catalogs:
        return cast(Catalogs, self.bot_data["i18n"])


CONTEXT_TYPES = ContextTypes(context=BotContext)

BotApplication = Application[
    ExtBot[Any], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], JobQueue[BotContext]
]
