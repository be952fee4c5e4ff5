"""/paysupport: someone asks for help with a payment; the admins see it in their group.

The request is a notice queued in the outbox (the admins are not the user who asked),
with the asker's recent Stars payments, so an admin can find the one in question.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.db import Database
from bot.services.alerts import Kind
from bot.services.outbox import Outgoing, enqueue
from bot.services.stars import StarsError
from models import StarPayment

MAX_TEXT = 1000
RECENT = 5


@dataclass(frozen=True)
class Opened:
    payments: int  # the asker's Stars payments listed for the admins


def check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise StarsError("support_empty", "Say what happened after /paysupport.")
    if len(text) > MAX_TEXT:
        raise StarsError("support_too_long", "Too long a request.", limit=MAX_TEXT)
    return text


async def open_request(
    db: Database,
    *,
    telegram_id: int,
    name: str,
    text: str,
    message_id: int,
    admin_chat_id: int | None,
    now: dt.datetime,
) -> Opened:
    """Queue the request for the admin group (once per message), with recent payments."""
    text = check_text(text)
    if admin_chat_id is None:
        raise StarsError("no_admin_group", "The admins' group is not set up.")
    async with db.transaction() as session:
        rows = list(
            await session.scalars(
                select(StarPayment)
                .where(StarPayment.payer_telegram_id == telegram_id)
                .where(StarPayment.paid_at.is_not(None))
                .order_by(StarPayment.id.desc())
                .limit(RECENT)
            )
        )
        payments = [
            {"payment_id": p.id, "stars": p.stars, "credits": p.credits, "state": p.state}
            for p in rows
        ]
        notice = Outgoing(
            key=f"{Kind.PAY_SUPPORT}:{telegram_id}:{message_id}",
            chat_id=admin_chat_id,
            kind=Kind.PAY_SUPPORT,
            payload={"telegram_id": telegram_id, "name": name, "text": text,
                     "payments": payments},
        )  # fmt: skip
        await enqueue(session, [notice], now)
    return Opened(payments=len(payments))
