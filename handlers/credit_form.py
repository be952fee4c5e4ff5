"""The add / remove credit form, as reseller panels have it, for the two who move a
reseller's credits by hand: an admin (``handlers.admin.credits``) and a parent for its
sub-reseller (``handlers.downline.allocate``). The steps are the same (action, transaction
type, credits, comment, expiry for an addition), then a summary and Save; each form says
who may, whose balances the screens show, how the amount is bounded and which service
moves the credits.

The asker is checked on every message and every tap; a button naming another reseller
than the form's changes nothing. Save carries a nonce minted with the summary and the
movement is keyed by it, so it is saved once however often it is tapped.
"""

from __future__ import annotations

import datetime as dt
import secrets

from telegram import Update
from telegram.ext import CallbackQueryHandler, ConversationHandler, MessageHandler, filters

from bot.context import BotContext
from bot.money import AmountError, parse_amount
from bot.services import credits
from bot.services.admin_log import ActionError
from bot.services.credits import Action
from handlers import credit_form_views as views
from handlers import flow
from handlers.calendar import TapKind
from handlers.common import answer, now, refuse
from handlers.credit_form_parts import Again, B, D, Refused, Side
from handlers.language import translator
from handlers.reader import Asker, Reader
from models import TxType

Step = str | int | None  # the next state; None stays where the form is


def _text(update: Update) -> str:
    message = update.effective_message
    return message.text or "" if message is not None else ""


class CreditForm(Side[D, B]):
    """The form's steps; a subclass fills in who may, what is read and how it is saved."""

    # --- shared steps ---------------------------------------------------------------------

    def _draft(self, context: BotContext) -> D | None:
        return flow.draft(context, self.draft_key, self.draft_type)

    def _end(self, context: BotContext) -> int:
        return flow.end(context, self.draft_key)

    async def _ours(
        self, update: Update, context: BotContext, telegram_id: int, r: Reader
    ) -> D | None:
        """The form under way if the tapped button is about its reseller; otherwise the tap
        is refused and nothing changes."""
        draft = self._draft(context)
        if draft is not None and draft.telegram_id == telegram_id:
            return draft
        await refuse(update, views.another_form(r.t))
        return None

    async def _show(
        self,
        update: Update,
        context: BotContext,
        draft: D,
        asker: Asker,
        step: str,
        problem: str = "",
        shown: dt.date | None = None,
    ) -> Step:
        """Show ``step`` for the form as it is now, on the form's message; ``problem`` says
        what was wrong with the last answer, ``shown`` is the calendar's month."""
        seen = await self.read(update, context, asker, draft)
        if seen is None:
            return self._end(context)
        if update.callback_query is not None:
            await answer(update.callback_query)
        r, s = asker.r, self.steps
        head = views.Head(draft.telegram_id, tuple(self.heading(seen, r)), self.buttons)
        if step == s.action:
            screen = views.ask_action(head, draft, r, problem)
        elif step == s.type:
            screen = views.ask_type(head, draft, r, problem)
        elif step == s.amount:
            screen = views.ask_amount(head, draft, r, self.bound(seen, draft, r), problem)
        elif step == s.comment:
            screen = views.ask_comment(head, draft, r, problem)
        elif step == s.expiry:
            first = credits.today(now(context), context.settings.zone)
            last = credits.latest_day(first)
            screen = views.ask_expiry(head, draft, shown or first, first, last, r, problem)
        else:
            draft.nonce = secrets.token_urlsafe(9)  # a fresh one per summary: Save is keyed by it
            body = await self.body(context, asker, seen, draft)
            screen = views.summary(head, draft, r, body, problem)
        await flow.render(context, draft, *screen)
        return step

    async def open_form(self, update: Update, context: BotContext) -> Step:
        """Entry, from the card: ask whether to add or remove."""
        query, asker = update.callback_query, await self.asker(update, context)
        if query is None or query.message is None or context.user_data is None or asker is None:
            return self._end(context)
        telegram_id = self.buttons.open.parse(context)
        draft = self.draft_type(query.message.chat.id, query.message.message_id, telegram_id)
        context.user_data[self.draft_key] = draft
        return await self._show(update, context, draft, asker, self.steps.action)

    async def _tapped(
        self, update: Update, context: BotContext, telegram_id: int
    ) -> tuple[D, Asker] | None:
        """The form and the asker for a button naming ``telegram_id``, if both hold."""
        asker = await self.asker(update, context)
        if asker is None:
            self._end(context)
            return None
        draft = await self._ours(update, context, telegram_id, asker.r)
        return None if draft is None else (draft, asker)

    async def chose_action(self, update: Update, context: BotContext) -> Step:
        telegram_id, action = self.buttons.action.parse(context)
        found = await self._tapped(update, context, telegram_id)
        if found is None:
            return self._stay_or_end(context)
        draft, asker = found
        draft.action = Action(action)
        if draft.action == Action.REMOVE:
            draft.expires_on = None  # only added credits expire
        return await self._show(update, context, draft, asker, self.steps.type)

    async def chose_type(self, update: Update, context: BotContext) -> Step:
        telegram_id, tx_type = self.buttons.type.parse(context)
        found = await self._tapped(update, context, telegram_id)
        if found is None:
            return self._stay_or_end(context)
        draft, asker = found
        draft.tx_type = TxType(tx_type)
        return await self._show(update, context, draft, asker, self.steps.amount)

    def _stay_or_end(self, context: BotContext) -> Step:
        """After a refused tap: the form stays where it is, unless it was ended."""
        return None if self._draft(context) is not None else ConversationHandler.END

    async def _typed(self, update: Update, context: BotContext) -> tuple[D, Asker] | None:
        draft, asker = self._draft(context), await self.asker(update, context)
        return None if draft is None or asker is None else (draft, asker)

    async def got_amount(self, update: Update, context: BotContext) -> Step:
        found = await self._typed(update, context)
        if found is None:
            return self._end(context)
        draft, asker = found
        try:
            amount = parse_amount(_text(update))
        except AmountError as exc:
            problem = views.bad_amount(exc, asker.r)
            return await self._show(update, context, draft, asker, self.steps.amount, problem)
        problem = await self.check(context, asker, draft, amount)
        if problem:
            return await self._show(update, context, draft, asker, self.steps.amount, problem)
        draft.amount = amount
        return await self._show(update, context, draft, asker, self.steps.comment)

    def _after_comment(self, draft: D) -> str:
        return self.steps.expiry if draft.action == Action.ADD else self.steps.confirm

    async def got_comment(self, update: Update, context: BotContext) -> Step:
        found = await self._typed(update, context)
        if found is None:
            return self._end(context)
        draft, asker = found
        try:
            draft.comment = credits.check_comment(_text(update))
        except ActionError as exc:
            problem = views.problem(exc, asker.r)
            return await self._show(update, context, draft, asker, self.steps.comment, problem)
        return await self._show(update, context, draft, asker, self._after_comment(draft))

    async def skip_comment(self, update: Update, context: BotContext) -> Step:
        found = await self._tapped(update, context, self.buttons.skip.parse(context))
        if found is None:
            return self._stay_or_end(context)
        draft, asker = found
        draft.comment = None
        return await self._show(update, context, draft, asker, self._after_comment(draft))

    async def skip_expiry(self, update: Update, context: BotContext) -> Step:
        found = await self._tapped(update, context, self.buttons.skip.parse(context))
        if found is None:
            return self._stay_or_end(context)
        draft, asker = found
        draft.expires_on = None
        return await self._show(update, context, draft, asker, self.steps.confirm)

    async def _expires_on(
        self, update: Update, context: BotContext, draft: D, asker: Asker, day: dt.date
    ) -> Step:
        """The last day picked or typed: refused if past (or too far), else the summary."""
        try:
            credits.expiry(day, now=now(context), zone=context.settings.zone)
        except ActionError as exc:
            problem = views.problem(exc, asker.r)
            return await self._show(update, context, draft, asker, self.steps.expiry, problem, day)
        draft.expires_on = day.isoformat()
        return await self._show(update, context, draft, asker, self.steps.confirm)

    async def got_date(self, update: Update, context: BotContext) -> Step:
        found = await self._typed(update, context)
        if found is None:
            return self._end(context)
        draft, asker = found
        try:
            day = credits.parse_day(_text(update))
        except ActionError as exc:
            problem = views.problem(exc, asker.r)
            return await self._show(update, context, draft, asker, self.steps.expiry, problem)
        return await self._expires_on(update, context, draft, asker, day)

    async def calendar_tap(self, update: Update, context: BotContext) -> Step:
        """A day picked, another month, or a label (which does nothing)."""
        tap = self.buttons.calendar.parse(context)
        found = await self._tapped(update, context, tap.scope)
        if found is None:
            return self._stay_or_end(context)
        draft, asker = found
        if tap.kind == TapKind.MONTH and tap.day is not None:
            return await self._show(update, context, draft, asker, self.steps.expiry, shown=tap.day)
        if tap.kind == TapKind.DAY and tap.day is not None:
            return await self._expires_on(update, context, draft, asker, tap.day)
        if update.callback_query is not None:
            await answer(update.callback_query)
        return None

    async def save(self, update: Update, context: BotContext) -> Step:
        """Save: the movement keyed by the summary's nonce, then the card with what was done."""
        telegram_id, nonce = self.buttons.save.parse(context)
        found = await self._tapped(update, context, telegram_id)
        if found is None:
            return self._stay_or_end(context)
        draft, asker = found
        if (
            nonce != draft.nonce
            or draft.action is None
            or draft.tx_type is None
            or not draft.amount
        ):
            await self.saved_before(update, context)
            return None
        moment, day, zone = now(context), draft.last_day, context.settings.zone
        try:
            expires_at = credits.expiry(day, now=moment, zone=zone) if day else None
            note = await self.move(context, asker, draft, nonce, moment, expires_at)
        except Again as exc:
            if exc.forget_amount:
                draft.amount = None
            return await self._show(update, context, draft, asker, exc.step, exc.problem)
        except Refused as exc:
            await refuse(update, exc.text)
            return self._end(context)
        except ActionError as exc:  # the day picked is past now (midnight went by)
            draft.expires_on = None
            problem = views.problem(exc, asker.r)
            return await self._show(update, context, draft, asker, self.steps.expiry, problem)
        await self.show_card(update, context, telegram_id, asker.r, note)
        return self._end(context)

    async def saved_before(self, update: Update, context: BotContext) -> None:
        """A Save from an older summary, or tapped again once saved: nothing moves again."""
        query, asker = update.callback_query, await self.asker(update, context)
        if query is None or asker is None:
            return
        _, nonce = self.buttons.save.parse(context)
        done = await self.moved(context, asker, nonce)
        t = asker.r.t
        await answer(query, views.already_saved(t) if done else views.no_longer_open(t), alert=True)

    async def buttons_expected(self, update: Update, context: BotContext) -> Step:
        """Text where the step asks for a button (add or remove, the type, Save): ask again."""
        found = await self._typed(update, context)
        if found is None:
            return self._end(context)
        draft, asker = found
        s = self.steps
        step = s.action if draft.action is None else s.type if draft.tx_type is None else s.confirm
        return await self._show(update, context, draft, asker, step, views.use_buttons(asker.r.t))

    async def back_to_card(self, update: Update, context: BotContext) -> Step:
        """Cancel: the card again, nothing moved."""
        asker = await self.asker(update, context)
        if asker is not None:
            await self.show_card(update, context, self.buttons.card.parse(context), asker.r)
        return self._end(context)

    async def cancel(self, update: Update, context: BotContext) -> object:
        t = await translator(update, context)
        return await flow.leave(update, context, self.draft_key, views.cancelled(t))

    async def timed_out(self, update: Update, context: BotContext) -> None:
        t = await translator(update, context)
        await flow.expire(context, self.draft_key, views.timed_out(t))

    def conversation(self) -> flow.Flow:
        """The form, for the one conversation all flows share."""
        s, keys = self.steps, self.buttons
        text = filters.TEXT & ~filters.COMMAND
        card = CallbackQueryHandler(self.back_to_card, pattern=keys.card.pattern())
        expected = MessageHandler(~filters.COMMAND, self.buttons_expected)
        skip = keys.skip.pattern()
        return flow.Flow(
            name=self.name,
            draft_key=self.draft_key,
            entry_points=[CallbackQueryHandler(self.open_form, pattern=keys.open.pattern())],
            states={
                s.action: [
                    CallbackQueryHandler(self.chose_action, pattern=keys.action.pattern()),
                    card,
                    expected,
                ],
                s.type: [
                    CallbackQueryHandler(self.chose_type, pattern=keys.type.pattern()),
                    card,
                    expected,
                ],
                s.amount: [MessageHandler(text, self.got_amount), card],
                s.comment: [
                    MessageHandler(text, self.got_comment),
                    CallbackQueryHandler(self.skip_comment, pattern=skip),
                    card,
                ],
                s.expiry: [
                    MessageHandler(text, self.got_date),
                    CallbackQueryHandler(self.calendar_tap, pattern=keys.calendar.pattern()),
                    CallbackQueryHandler(self.skip_expiry, pattern=skip),
                    card,
                ],
                s.confirm: [
                    CallbackQueryHandler(self.save, pattern=keys.save.pattern()),
                    card,
                    expected,
                ],
            },
            fallbacks=[],
            cancel=self.cancel,
            timed_out=self.timed_out,
            replaced_text=views.replaced,
        )
