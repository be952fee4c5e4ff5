"""The daily Stars reconciliation: Telegram's transactions against the payments here.

Telegram's list (``getStarTransactions``) is read a page at a time; the comparison and
the admin group's report are the services' (``bot.services.star_reconcile``). A report
is posted only when there are differences.

Also the customers' paid renewals and changes that no sale or refund followed (the bot
stopped right after recording the payment): completed as the live path would have; and
the refunds decided but never finished (the bot stopped before Telegram's answer was
recorded): asked of Telegram again and recorded as the live path would have.
"""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Bot, TransactionPartnerUser

from bot.db import Database
from bot.services import (
    star_reconcile,
    star_refund_claims,
    star_refunds,
    star_renewal_outcome,
    star_subscriptions,
)
from bot.services.panel_provider import Panels
from bot.services.provisioning import Provider
from bot.services.star_reconcile import Differences, TelegramTransaction
from bot.services.star_renewal_outcome import Outcome
from bot.settings import Settings
from handlers.payments import auto_renewal, telegram_refund
from handlers.payments.renewal import refund_renewal, settle_pending_refund

log = logging.getLogger(__name__)
PAGE = 100  # Telegram's largest page
PERIOD = dt.timedelta(days=1)
SETTLING = dt.timedelta(minutes=10)  # payments this recent may still be on their way
INTERVAL_SECONDS = 86_400
# A payment recorded this recently may still be in hand (its sale about to open): left be.
STRANDED_GRACE = dt.timedelta(minutes=2)
STRANDED_WINDOW = dt.timedelta(days=30)  # how far back to look (a done one stays paid)
STRANDED_INTERVAL_SECONDS = 60


async def telegram_transactions(bot: Bot, *, max_pages: int = 1_000) -> list[TelegramTransaction]:
    """Every Star transaction Telegram lists for the bot, oldest first."""
    found: list[TelegramTransaction] = []
    for page in range(max_pages):
        batch = await bot.get_star_transactions(offset=page * PAGE, limit=PAGE)
        for tx in batch.transactions:
            partner = tx.source if tx.source is not None else tx.receiver
            user = partner.user if isinstance(partner, TransactionPartnerUser) else None
            payload = (
                partner.invoice_payload if isinstance(partner, TransactionPartnerUser) else None
            )
            found.append(
                TelegramTransaction(
                    id=tx.id,
                    amount=tx.amount,
                    date=tx.date,
                    incoming=tx.source is not None,
                    user_id=user.id if user else None,
                    payload=payload,
                )
            )
        if len(batch.transactions) < PAGE:
            break
    return found


async def run_star_reconciliation(
    db: Database, bot: Bot, *, admin_chat_id: int | None, now: dt.datetime
) -> Differences:
    """Compare the last day (up to a few minutes ago) and report any difference."""
    until = now - SETTLING
    found = await star_reconcile.compare(
        db, await telegram_transactions(bot), since=until - PERIOD, until=until
    )
    if not found.clean:
        log.warning("Stars reconciliation: %s differences", len(found.items))
        await star_reconcile.queue_report(db, found, chat_id=admin_chat_id, now=now)
    return found


async def refund_released_renewals(
    db: Database, bot: Bot, *, admin_chat_id: int | None, now: dt.datetime
) -> int:
    """Customers' paid renewals whose order reconciliation released (the panel never did
    it): each refunded once, the customer told through the outbox."""
    refunded = 0
    for payment_id in await star_renewal_outcome.failed_renewals(db):
        done = await refund_renewal(
            db, bot, payment_id, "panel_failed", admin_chat_id=admin_chat_id, now=now,
            tell_payer=True,
        )  # fmt: skip
        refunded += done.refunded_at is not None
    if refunded:
        log.warning("refunded %s renewals paid in Stars that the panel never did", refunded)
    return refunded


async def complete_stranded_payments(
    db: Database,
    bot: Bot,
    provider: Provider,
    panels: Panels | None,
    settings: Settings,
    *,
    now: dt.datetime,
) -> int:
    """Customers' paid renewals and changes left with no sale and no refund (the bot
    stopped between recording the payment and either): each run through the live path's
    ``renew``, sold or refunded once (keyed by the payment), and everyone told through
    the outbox, the customer too. How many were taken up."""
    found = await star_renewal_outcome.stranded(
        db, paid_before=now - STRANDED_GRACE, paid_since=now - STRANDED_WINDOW
    )
    for payment_id in found:
        try:
            await _complete(db, bot, provider, panels, settings, payment_id, now)
        except Exception:  # one that fails is tried again next run; the others go on
            log.exception("the Stars payment %s left without a sale could not be completed",
                          payment_id)  # fmt: skip
    if found:
        log.warning("took up %s customer payments in Stars left without a sale", len(found))
    return len(found)


async def _complete(
    db: Database,
    bot: Bot,
    provider: Provider,
    panels: Panels | None,
    settings: Settings,
    payment_id: int,
    now: dt.datetime,
) -> None:
    """One payment, as ``handlers.payments.renewal.run_renewal`` would have done it."""
    renewal = await star_renewal_outcome.renew(
        db, provider, payment_id=payment_id, now=now,
        provider_seconds=settings.provisioning_timeout_seconds, panels=panels, tell_payer=True,
    )  # fmt: skip
    if renewal.outcome == Outcome.REFUND:
        await refund_renewal(
            db, bot, payment_id, renewal.reason, admin_chat_id=settings.admin_chat_id, now=now,
            tell_payer=True,
        )  # fmt: skip
        if renewal.stop_subscription is not None:
            sub = await star_subscriptions.by_id(db, renewal.stop_subscription)
            await auto_renewal.cancel(bot, db, sub, now)
    # IN_DOUBT: its order is open now; reconciliation settles it (and refunds it if released).


async def finish_pending_refunds(
    db: Database, bot: Bot, *, admin_chat_id: int | None, now: dt.datetime
) -> int:
    """Refunds decided (the credits or the revenue taken back, the payment
    ``refund_pending``) whose Telegram answer was never recorded: the bot stopped in
    between, or Telegram did not refund. Each, once older than the grace and held by no
    one, is asked of Telegram again through the live path's call, holding the refund's
    lease (an admin's ↩️ Refund or another run waits for it), and recorded as the live path
    records it, the notices keyed by the payment (a top-up's admin group told it is done;
    a customer's subscription of a plan it left cancelled, as the live path does):
    refunded, Telegram's CHARGE_ALREADY_REFUNDED included (the refund was made before the
    stop: nothing moves again). Any other answer leaves it pending, asked again after a
    wait that grows with its age (``star_refund_claims.retry_later``); the admins hear
    of it from the daily reconciliation, not every minute. How many were refunded."""
    found = await star_refund_claims.stuck(
        db, now=now, begun_before=now - STRANDED_GRACE, begun_since=now - STRANDED_WINDOW
    )
    refunded = 0
    for payment_id in found:
        try:
            refunded += await _finish_refund(db, bot, payment_id, admin_chat_id, now)
        except Exception:  # tried again next run; the others go on
            log.exception("the pending refund of Stars payment %s could not be finished",
                          payment_id)  # fmt: skip
    if refunded:
        log.warning("finished %s refunds of Stars the bot had stopped in the middle of", refunded)
    return refunded


async def _finish_refund(
    db: Database, bot: Bot, payment_id: int, admin_chat_id: int | None, now: dt.datetime
) -> bool:
    pending = await star_refund_claims.take(db, payment_id, now)
    if pending is None:  # another caller has it in hand
        return False
    if not pending.refund_by_admin:  # a customer's automatic one: the revenue's notices
        done = await settle_pending_refund(db, bot, pending, admin_chat_id=admin_chat_id, now=now)
        refunded = done.refunded_at is not None
    else:  # an admin's (a top-up's, say): as ``handlers.payments.refund`` records it
        told = await telegram_refund.refund_stars(bot, pending)
        if told.refunded:  # the admin group, last told it was pending, hears it is done
            await star_refunds.finish_refund(
                db, payment_id=payment_id, admin_id=None, now=now, admin_chat_id=admin_chat_id
            )
        else:  # never restored here: that is the admin's call, with Telegram's reason
            await star_renewal_outcome.refund_failed(
                db, pending=pending, error=told.error, admin_chat_id=None, now=now
            )
        refunded = told.refunded
    if not refunded:
        again = await star_refund_claims.retry_later(db, pending, now)
        log.warning(
            "the refund of Stars payment %s is still pending; asked again from %s",
            payment_id, again.isoformat(timespec="minutes"),
        )  # fmt: skip
    return refunded
