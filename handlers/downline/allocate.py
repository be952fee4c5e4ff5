"""A parent adds credits to its sub-reseller or takes them back: the admin's form
(``handlers.credit_form``), then a summary with both balances before and after (for an
addition, which of its credits keep an expiry sooner than the day chosen:
``allocation.sooner``), and Save.

The asker and the sub-reseller are checked in the database on every message and every tap
(``allocation.balances`` refuses anyone not the asker's own child). The movement is
``allocation.save``, keyed by the parent and the summary's nonce.
"""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot.context import BotContext
from bot.services import allocation, credits
from bot.services.admin_log import ActionError
from bot.services.allocation import Balances
from bot.services.credits import Action
from bot.services.downline import DownlineError
from bot.services.grants import Part
from handlers import credit_form_views as form_views
from handlers.common import now, refuse
from handlers.credit_form import CreditForm
from handlers.credit_form_parts import Again, FormButtons, Refused
from handlers.downline import callbacks as buttons
from handlers.downline import form_views as fviews
from handlers.downline import views
from handlers.downline.drafts import AllocationDraft
from handlers.downline.screens import parent
from handlers.downline.screens import show_card as child_card
from handlers.language import translator
from handlers.reader import Asker, Reader

DRAFT = "allocation_draft"


class Allocating(CreditForm[AllocationDraft, Balances]):
    async def asker(self, update: Update, context: BotContext) -> Asker | None:
        t = await translator(update, context)
        me = await parent(update, context, t)
        return None if me is None else Asker(Reader.of(context.settings, t), me.telegram_id)

    async def read(
        self, update: Update, context: BotContext, asker: Asker, draft: AllocationDraft
    ) -> Balances | None:
        try:
            return await allocation.balances(context.db, asker.me, draft.telegram_id)
        except DownlineError as exc:
            await refuse(update, views.refusal(exc, asker.r))
            return None

    def heading(self, seen: Balances, r: Reader) -> list[str]:
        return form_views.who(seen.child.name, seen.child.telegram_id, r)

    def bound(self, seen: Balances, draft: AllocationDraft, r: Reader) -> str:
        return fviews.bound(seen, draft, r)

    async def body(
        self, context: BotContext, asker: Asker, seen: Balances, draft: AllocationDraft
    ) -> list[str]:
        return fviews.both(seen, draft, asker.r, await self._sooner(context, asker.me, draft))

    async def _sooner(self, context: BotContext, me: int, draft: AllocationDraft) -> list[Part]:
        """For an addition: its parts that keep an expiry sooner than the day chosen."""
        if draft.action != Action.ADD or not draft.amount:
            return []
        day, zone = draft.last_day, context.settings.zone
        try:
            expires_at = credits.expiry(day, now=now(context), zone=zone) if day else None
        except ActionError:  # the day went by since it was chosen: Save asks for another
            return []
        return await allocation.sooner(context.db, me, draft.telegram_id, draft.amount, expires_at)

    async def check(
        self, context: BotContext, asker: Asker, draft: AllocationDraft, amount: int
    ) -> str:
        action = draft.action or Action.ADD
        try:
            allocation.check(
                action, amount, await allocation.balances(context.db, asker.me, draft.telegram_id)
            )
        except DownlineError as exc:
            return views.refusal(exc, asker.r)
        return ""

    async def move(
        self,
        context: BotContext,
        asker: Asker,
        draft: AllocationDraft,
        nonce: str,
        moment: dt.datetime,
        expires_at: dt.datetime | None,
    ) -> str:
        assert draft.action is not None and draft.tx_type is not None and draft.amount
        try:
            done = await allocation.save(
                context.db,
                parent_telegram_id=asker.me,
                child_telegram_id=draft.telegram_id,
                action=draft.action,
                amount=draft.amount,
                tx_type=draft.tx_type,
                nonce=nonce,
                now=moment,
                comment=draft.comment,
                expires_at=expires_at,
            )
        except DownlineError as exc:
            problem = views.refusal(exc, asker.r)
            if exc.code in ("parent_short", "remove_too_much"):  # the balances moved since
                raise Again(self.steps.amount, problem, forget_amount=True) from exc
            raise Refused(problem) from exc
        return fviews.saved(done, asker.r)

    async def moved(self, context: BotContext, asker: Asker, nonce: str) -> bool:
        return await allocation.moved(context.db, asker.me, nonce)

    async def show_card(
        self, update: Update, context: BotContext, telegram_id: int, r: Reader, note: str = ""
    ) -> None:
        await child_card(update, context, telegram_id, r, note)


FORM = Allocating(
    "alloc",  # its states: alloc:action ... alloc:confirm
    DRAFT,
    AllocationDraft,
    FormButtons(
        buttons.CREDITS,
        buttons.CARD,
        buttons.ACTION,
        buttons.TYPE,
        buttons.SKIP,
        buttons.SAVE,
        buttons.CALENDAR,
    ),
)
saved_before = FORM.saved_before  # Save tapped again once the form has ended
allocating = FORM.conversation
