"""The admin's reseller card, panel side: its customers disabled on their panels when it is
suspended (if the admin asks), resumed when it is reactivated, and the counts in words."""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import cast

from bot.context import BotContext
from bot.i18n import Translator
from bot.services import panel_suspension
from bot.services.admin_log import ActionError
from bot.services.panel_provider import Panels
from bot.services.panel_suspension import Sweep, SweepResult

FAILURES_SHOWN = 10


async def sweep(
    context: BotContext, telegram_id: int, actor: str, t: Translator, *, suspend: bool
) -> str:
    """Suspend (or resume) the reseller's customers on their panels; the counts, or ""
    when there was nothing to do (or the reseller changed state meanwhile)."""
    panels = cast(Panels, context.bot_data["panels"])
    run = panel_suspension.suspend_customers if suspend else panel_suspension.resume_customers
    try:
        result = await run(
            context.db, panels, telegram_id=telegram_id, actor=actor, now=dt.datetime.now(dt.UTC)
        )
    except ActionError:
        return ""
    if not suspend and not result.attempted:
        return ""
    return _note(result, telegram_id, t)


def _note(result: SweepResult, telegram_id: int, t: Translator) -> str:
    if result.sweep == Sweep.SUSPEND:
        lines = [t._("🔌 Disabled on the panels: {n} customers.", n=t.number(result.done))]
        if result.skipped:
            lines.append(
                t._(
                    "{n} were already disabled there by hand and stay so.",
                    n=t.number(result.skipped),
                )
            )
        retry = f"python -m bot reseller suspend --telegram-id {telegram_id} --suspend-customers"
    else:
        lines = [t._("🔌 Resumed on the panels: {n} customers.", n=t.number(result.done))]
        retry = f"python -m bot reseller activate --telegram-id {telegram_id}"
    if result.failed:
        lines.append(t._("⚠️ Failed: {n}.", n=t.number(len(result.failed))))
        lines += [
            f"• {escape(f.username)} ({escape(f.panel)}: {escape(f.code)})"
            for f in result.failed[:FAILURES_SHOWN]
        ]
        lines.append(t._("To try those again: <code>{command}</code>", command=retry))
    return "\n".join(lines)
