"""Who to register, as both registrations ask it: an admin registering a reseller
(``handlers.admin.enrol``) and a parent registering a sub-reseller
(``handlers.downline.enrol``). The person is a contact shared through Telegram's user
picker, or the typed id of someone who has started the bot; someone already registered is
refused; a name is asked when only the id is known. Each registration says who may, its
own picker and first question, what it asks after the name, and how it saves.

The picker is a reply keyboard, which cannot go on an edited message: until the person is
known the flow's messages are sent anew, and its message (``message_id`` 0) is the first
question after that.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import InlineKeyboardMarkup, ReplyKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import BotContext
from bot.i18n import Translator
from bot.services import reseller_search, resellers
from bot.services.admin_log import ActionError
from handlers import flow
from handlers.admin import enrol_views as views
from handlers.admin import reseller_form_views as form_views
from handlers.common import answer
from handlers.language import translator
from handlers.reader import Asker, Reader

Screen = tuple[str, InlineKeyboardMarkup]


@dataclass
class PersonDraft(flow.FlowMessage):
    """Who is being registered, and the answers both registrations ask."""

    telegram_id: int = 0
    name: str = ""
    username: str | None = None
    threshold: int = 0
    nonce: str = ""  # minted with the summary; Save must carry it


E = TypeVar("E", bound=PersonDraft)


class EnrolForm(abc.ABC, Generic[E]):
    """The first steps of a registration; a subclass fills in the rest."""

    def __init__(
        self,
        draft_key: str,
        draft_type: type[E],
        steps: tuple[str, str],
        picker: int,
        ask_who: Callable[[Translator, str], tuple[str, ReplyKeyboardMarkup]],
        ask_name: Callable[[int, Reader, str], Screen],
    ) -> None:
        """``steps``: the states asking who and their name; ``picker``: the user picker's
        request id, echoed back with the contact shared; ``ask_who``: the first question,
        with the picker under it; ``ask_name``: the name of someone known by id only."""
        self.draft_key, self.draft_type = draft_key, draft_type
        (self.who_step, self.name_step), self.picker = steps, picker
        self.ask_who, self.ask_name = ask_who, ask_name

    @abc.abstractmethod
    async def asker(self, update: Update, context: BotContext) -> Asker | None:
        """The asker, if allowed; otherwise they are told no and None is returned."""

    @abc.abstractmethod
    def after_name(self, draft: E, r: Reader) -> tuple[str, Screen]:
        """The step after the name, and its screen."""

    def _draft(self, context: BotContext) -> E | None:
        return flow.draft(context, self.draft_key, self.draft_type)

    async def _say(
        self,
        context: BotContext,
        draft: E,
        text: str,
        markup: ReplyKeyboardMarkup | ReplyKeyboardRemove,
    ) -> None:
        """A message of its own (a reply keyboard cannot go on an edited message)."""
        await context.bot.send_message(draft.chat_id, text, reply_markup=markup)

    async def _ask_who(self, context: BotContext, draft: E, t: Translator, problem: str) -> str:
        await self._say(context, draft, *self.ask_who(t, problem))
        return self.who_step

    async def start(self, update: Update, context: BotContext) -> int | str:
        """The list's button: ask who, with the user picker under the message."""
        query, asker = update.callback_query, await self.asker(update, context)
        if query is None or query.message is None or asker is None:
            return flow.end(context, self.draft_key)
        await answer(query)
        # The steps after "who" are a message of their own, sent once the person is known.
        draft = self.draft_type(query.message.chat.id, 0)
        assert context.user_data is not None
        context.user_data[self.draft_key] = draft
        return await self._ask_who(context, draft, asker.r.t, "")

    async def _who_known(
        self, context: BotContext, draft: E, r: Reader, telegram_id: int, name: str
    ) -> int | str:
        """The person is settled: take the picker away, then ask the name or what follows."""
        async with context.db.transaction() as session:
            existing = await resellers.load_by_telegram_id(session, telegram_id)
        if existing is not None:
            problem = views.already_registered(existing.name, r)
            return await self._ask_who(context, draft, r.t, problem)
        draft.telegram_id, draft.name = telegram_id, name
        await self._say(context, draft, *views.chosen(name or str(telegram_id), telegram_id, r))
        if not name:
            await flow.render(context, draft, *self.ask_name(telegram_id, r, ""))
            return self.name_step
        step, screen = self.after_name(draft, r)
        await flow.render(context, draft, *screen)
        return step

    async def asked(self, update: Update, context: BotContext) -> tuple[E, Asker] | None:
        """The registration under way and its asker, if both hold."""
        draft, asker = self._draft(context), await self.asker(update, context)
        return None if draft is None or asker is None else (draft, asker)

    async def got_shared(self, update: Update, context: BotContext) -> int | str:
        """A contact shared through the picker."""
        found, message = await self.asked(update, context), update.effective_message
        if found is None or message is None or message.users_shared is None:
            return flow.end(context, self.draft_key)
        (draft, asker), shared = found, message.users_shared
        if shared.request_id != self.picker or not shared.users:
            return await self._ask_who(context, draft, asker.r.t, views.not_a_person(asker.r.t))
        person = shared.users[0]
        name = " ".join(p for p in (person.first_name, person.last_name) if p)
        draft.username = person.username
        return await self._who_known(
            context, draft, asker.r, person.user_id, name[: resellers.MAX_NAME]
        )

    async def got_typed(self, update: Update, context: BotContext) -> int | str:
        """A typed id (of someone who has started the bot) or @username."""
        found, message = await self.asked(update, context), update.effective_message
        if found is None or message is None or message.text is None:
            return flow.end(context, self.draft_key)
        (draft, asker), text = found, message.text.strip()
        r, t = asker.r, asker.r.t
        if text.startswith("@"):
            known = await reseller_search.by_username(context.db, text)
            problem = (
                views.already_registered(known.name, r)
                if known
                else views.unknown_username(text[1:], r)
            )
            return await self._ask_who(context, draft, t, problem)
        if not text.isdecimal() or not 0 < int(text) < 2**63:  # isdigit takes "²"
            return await self._ask_who(context, draft, t, views.not_a_person(t))
        telegram_id = int(text)
        async with context.db.transaction() as session:
            existing = await resellers.load_by_telegram_id(session, telegram_id)
        if existing is None and await reseller_search.candidate(context.db, telegram_id) is None:
            return await self._ask_who(context, draft, t, views.unknown_id(telegram_id, t))
        draft.username = None
        return await self._who_known(context, draft, r, telegram_id, "")

    async def got_name(self, update: Update, context: BotContext) -> int | str:
        found, message = await self.asked(update, context), update.effective_message
        if found is None or message is None or message.text is None:
            return flow.end(context, self.draft_key)
        draft, asker = found
        try:
            draft.name = reseller_search.check_name(message.text)
        except ActionError as exc:
            problem = form_views.edit_refusal(exc, asker.r)
            await flow.render(context, draft, *self.ask_name(draft.telegram_id, asker.r, problem))
            return self.name_step
        step, screen = self.after_name(draft, asker.r)
        await flow.render(context, draft, *screen)
        return step

    async def cancel(self, update: Update, context: BotContext) -> object:
        t = await translator(update, context)
        draft = self._draft(context)
        if draft is not None and draft.message_id == 0:
            # Still at "who": the picker is on the keyboard; take it away as we say so.
            if update.callback_query is not None:
                await answer(update.callback_query)
            await self._say(context, draft, views.cancelled(t), views.REMOVE_KEYBOARD)
            return flow.end(context, self.draft_key)
        return await flow.leave(update, context, self.draft_key, views.cancelled(t))

    async def timed_out(self, update: Update, context: BotContext) -> None:
        t = await translator(update, context)
        draft = self._draft(context)
        if draft is not None and draft.message_id == 0:
            await self._say(context, draft, views.timed_out(t), views.REMOVE_KEYBOARD)
            flow.end(context, self.draft_key)
            return
        await flow.expire(context, self.draft_key, views.timed_out(t))

    def conversation(
        self,
        name: str,
        entry: str,
        cancel: str,
        later: Mapping[str, Sequence[BaseHandler[Update, BotContext, Any]]],
    ) -> flow.Flow:
        """The registration ``name``, opened by the button matching ``entry`` and ended by
        the one matching ``cancel``: who and the name, then the steps in ``later``."""
        typed = filters.TEXT & ~filters.COMMAND
        return flow.Flow(
            name=name,
            draft_key=self.draft_key,
            entry_points=[CallbackQueryHandler(self.start, pattern=entry)],
            states={
                self.who_step: [
                    MessageHandler(filters.StatusUpdate.USERS_SHARED, self.got_shared),
                    MessageHandler(typed, self.got_typed),
                ],
                self.name_step: [MessageHandler(typed, self.got_name)],
                **later,
            },
            fallbacks=[CallbackQueryHandler(self.cancel, pattern=cancel)],
            cancel=self.cancel,
            timed_out=self.timed_out,
            replaced_text=views.replaced,
        )
