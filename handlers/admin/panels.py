"""The reseller card, panel side: its customers disabled on their panels when it is
suspended (if the admin asks), resumed when it is reactivated. The counts are put in
words by ``views.sweep_note``."""

from __future__ import annotations

from typing import cast

from bot.context import BotContext
from bot.services import panel_suspension
from bot.services.admin_log import ActionError
from bot.services.panel_provider import Panels
from bot.services.panel_suspension import SweepResult
from handlers.common import now


async def sweep(
    context: BotContext, telegram_id: int, actor: str, *, suspend: bool
) -> SweepResult | None:
    """Suspend (or resume) the reseller's customers on their panels; what happened, or
    None when there is nothing to say (or the reseller changed state meanwhile)."""
    panels = cast(Panels, context.bot_data["panels"])
    run = panel_suspension.suspend_customers if suspend else panel_suspension.resume_customers
    try:
        result = await run(
            context.db, panels, telegram_id=telegram_id, actor=actor, now=now(context)
        )
    except ActionError:
        return None
    if not suspend and not result.attempted:
        return None
    return result
