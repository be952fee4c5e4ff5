"""Asking Telegram to give a payment's Stars back (``refundStarPayment``) and what its
answer means: one call for the admin's refund of a top-up, the automatic refund of a
customer's renewal or change, and the job that finishes the refunds the bot stopped in
the middle of.

Telegram refunds a charge once. Asked again, it answers HTTP 400
``{"ok": false, "error_code": 400, "description": "Bad Request:
CHARGE_ALREADY_REFUNDED"}`` (the shape reported in tdlib/telegram-bot-api#690, where it
also came for a refund Telegram had just made); python-telegram-bot raises that as
``BadRequest`` with the prefix stripped and the rest capitalised
("Charge_already_refunded"), hence the case-blind match. The Stars are with the payer
then: the refund stands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from telegram import Bot
from telegram.error import BadRequest, NetworkError, TelegramError

from bot.services.stars import Payment

log = logging.getLogger(__name__)
ALREADY_REFUNDED = "CHARGE_ALREADY_REFUNDED"


class Answer(StrEnum):
    REFUNDED = "refunded"  # the Stars went back now
    ALREADY = "already"  # they had gone back before (a refund whose answer was lost)
    REFUSED = "refused"  # Telegram said no, and why
    UNKNOWN = "unknown"  # no answer (a timeout, a 5xx): it may or may not have refunded


@dataclass(frozen=True)
class Told:
    answer: Answer
    error: str = ""

    @property
    def refunded(self) -> bool:
        return self.answer in (Answer.REFUNDED, Answer.ALREADY)


async def refund_stars(bot: Bot, payment: Payment) -> Told:
    """refundStarPayment for the payment's charge, to whoever paid it."""
    assert payment.charge_id is not None
    try:
        await bot.refund_star_payment(payment.payer_telegram_id, payment.charge_id)
    except TelegramError as exc:
        if isinstance(exc, BadRequest) and ALREADY_REFUNDED in exc.message.upper():
            return Told(Answer.ALREADY, exc.message)
        if isinstance(exc, NetworkError) and not isinstance(exc, BadRequest):
            log.warning("refundStarPayment for payment %s: no answer: %s", payment.id, exc)
            return Told(Answer.UNKNOWN, exc.message)
        return Told(Answer.REFUSED, exc.message)
    return Told(Answer.REFUNDED)
