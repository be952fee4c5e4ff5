"""Cancelling a customer's Stars subscription at Telegram (``editUserStarSubscription``
with ``is_canceled``), then in the database: the customer's ✖️ Stop automatic renewal, a
change of package approved while it renews the old plan, and a charge for a plan left."""

from __future__ import annotations

import datetime as dt
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.db import Database
from bot.services import star_subscriptions
from bot.services.star_subscriptions import Subscription

log = logging.getLogger(__name__)


async def cancel(bot: Bot, db: Database, sub: Subscription, at: dt.datetime) -> bool:
    """Telegram charges it no more and it is marked cancelled; False when Telegram refused
    (it stays active, to try again)."""
    assert sub.first_charge_id is not None
    try:
        await bot.edit_user_star_subscription(
            sub.payer_telegram_id, sub.first_charge_id, is_canceled=True
        )
    except TelegramError as exc:
        log.warning("editUserStarSubscription for subscription %s: %s", sub.id, exc)
        return False
    await star_subscriptions.mark_cancelled(db, subscription_id=sub.id, now=at)
    return True
