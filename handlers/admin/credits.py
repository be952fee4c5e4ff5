"""Adding or removing a reseller's credit, as reseller panels do it: the form of
``handlers.credit_form``, opened from the reseller's card, with the reseller's balance
before and after in its summary.

Owners and staff admins allowed credits only, checked on every message and every tap. The
movement, its log entry and the reseller's notice are ``wallet.add_credit`` /
``wallet.remove_credit``, as the CLI's, keyed by the admin and the summary's nonce.
"""

from __future__ import annotations

import datetime as dt

from telegram import Update

from bot.context import BotContext
from bot.services import credits, ledger, wallet
from bot.services.credits import Action, TooMuchToRemove
from bot.services.resellers import ResellerError
from bot.services.roles import Permission
from bot.services.wallet import BalanceSummary
from handlers import credit_form_views as form_views
from handlers.admin import callbacks, directory, views
from handlers.admin import credit_callbacks as buttons
from handlers.admin import credit_views as cviews
from handlers.admin.credit_draft import DRAFT, NAME, CreditDraft
from handlers.common import now, permitted, refuse
from handlers.credit_form import CreditForm
from handlers.credit_form_parts import Again, FormButtons, Refused
from handlers.language import translator
from handlers.reader import Asker, Reader


def _key(user_id: int, nonce: str) -> str:
    """The movement's idempotency key: the admin and the nonce of the summary they saw."""
    return f"credit:{user_id}:{nonce}"


class AdminCredits(CreditForm[CreditDraft, BalanceSummary]):
    async def asker(self, update: Update, context: BotContext) -> Asker | None:
        t, user = await translator(update, context), update.effective_user
        if user is None or not await permitted(update, context, Permission.CREDITS, t):
            return None
        return Asker(Reader.of(context.settings, t), user.id)

    async def read(
        self, update: Update, context: BotContext, asker: Asker, draft: CreditDraft
    ) -> BalanceSummary | None:
        try:
            return await wallet.balance_summary(context.db, draft.telegram_id, now=now(context))
        except ResellerError as exc:
            await refuse(update, views.refusal(exc, asker.r))
            return None

    def heading(self, seen: BalanceSummary, r: Reader) -> list[str]:
        return cviews.heading(seen.reseller, r)

    def bound(self, seen: BalanceSummary, draft: CreditDraft, r: Reader) -> str:
        if draft.action != Action.REMOVE:
            return ""
        return form_views.at_most_removed(credits.removable(seen.balance), r)

    async def body(
        self, context: BotContext, asker: Asker, seen: BalanceSummary, draft: CreditDraft
    ) -> list[str]:
        return form_views.before_after(seen.balance, form_views.signed(draft), asker.r)

    async def check(
        self, context: BotContext, asker: Asker, draft: CreditDraft, amount: int
    ) -> str:
        if draft.action != Action.REMOVE:
            return ""
        current = await wallet.balance_summary(context.db, draft.telegram_id, now=now(context))
        maximum = credits.removable(current.balance)
        return cviews.too_much(maximum, asker.r) if amount > maximum else ""

    async def move(
        self,
        context: BotContext,
        asker: Asker,
        draft: CreditDraft,
        nonce: str,
        moment: dt.datetime,
        expires_at: dt.datetime | None,
    ) -> str:
        assert draft.action is not None and draft.tx_type is not None and draft.amount
        actor, key = f"tg:{asker.me}", _key(asker.me, nonce)
        try:
            if draft.action == Action.ADD:
                change = await wallet.add_credit(
                    context.db,
                    telegram_id=draft.telegram_id,
                    amount=draft.amount,
                    tx_type=draft.tx_type,
                    actor=actor,
                    key=key,
                    now=moment,
                    comment=draft.comment,
                    expires_at=expires_at,
                    tell=True,
                )
            else:
                change = await wallet.remove_credit(
                    context.db,
                    telegram_id=draft.telegram_id,
                    amount=draft.amount,
                    tx_type=draft.tx_type,
                    actor=actor,
                    key=key,
                    comment=draft.comment,
                    now=moment,
                    tell=True,
                )
        except TooMuchToRemove as exc:  # the balance moved since the summary
            raise Again(
                self.steps.amount, cviews.too_much(exc.maximum, asker.r), forget_amount=True
            ) from exc
        except ledger.InvalidEntry as exc:
            raise Again(self.steps.action, "") from exc
        except ResellerError as exc:
            raise Refused(views.refusal(exc, asker.r)) from exc
        return cviews.saved(change, draft.action, asker.r)

    async def moved(self, context: BotContext, asker: Asker, nonce: str) -> bool:
        return await wallet.moved(context.db, _key(asker.me, nonce))

    async def show_card(
        self, update: Update, context: BotContext, telegram_id: int, r: Reader, note: str = ""
    ) -> None:
        await directory.show_card(update, context, telegram_id, r, note)


FORM = AdminCredits(
    NAME,
    DRAFT,
    CreditDraft,
    FormButtons(
        buttons.OPEN,
        callbacks.CARD,
        buttons.ACTION,
        buttons.TYPE,
        buttons.SKIP,
        buttons.SAVE,
        buttons.CALENDAR,
    ),
)
saved_before = FORM.saved_before  # Save tapped again once the form has ended
credit_form = FORM.conversation
