"""Telegram handlers: parse, authorise, call one service, render."""

from __future__ import annotations

import datetime as dt

from bot.context import BotApplication
from handlers import (
    admin,
    admin_suspend,
    balance,
    customer_view,
    fallback,
    flow,
    language,
    reachability,
    sale,
    start,
    topup,
)


def register(app: BotApplication) -> None:
    """Add every handler. Order matters: the first match in the group wins,
    so the catch-all fallbacks go last."""
    reachability.register(app)  # a group of its own: it sees every update
    # The flows first: while one is under way, /start and /cancel end it.
    minutes = app.bot_data["settings"].conversation_timeout_minutes
    app.add_handler(
        flow.conversation(
            [topup.conversation(), sale.conversation(), admin_suspend.suspension()],
            timeout=dt.timedelta(minutes=minutes),
            start=start.start,
        )
    )
    start.register(app)
    language.register(app)
    balance.register(app)
    admin.register(app)
    admin_suspend.register(app)
    topup.register(app)
    sale.register(app)
    customer_view.register(app)
    fallback.register(app)
