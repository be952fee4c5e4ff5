"""Which scheduled reports go out, and which sections the summaries show: the settings
give the defaults, an owner's choice in the bot wins over them while it is kept.

A choice says what the button asked for (on or off), so a second tap on the same button
changes nothing and logs nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from sqlalchemy import select

from bot.db import Database
from bot.services import admin_log
from bot.services.admin_log import ActionError
from models import ReportSwitch

ACTION = "report_switch"


async def chosen(db: Database) -> dict[str, bool]:
    """The owners' choices kept in the database (the rest follow the settings)."""
    async with db.transaction() as session:
        rows = await session.execute(select(ReportSwitch.name, ReportSwitch.enabled))
        return {name: bool(enabled) for name, enabled in rows}


def effective(defaults: Mapping[str, bool], choices: Mapping[str, bool]) -> dict[str, bool]:
    """On or off for each name of ``defaults`` (in its order): a choice, else the default."""
    return {name: choices.get(name, default) for name, default in defaults.items()}


async def choose(
    db: Database,
    name: str,
    enabled: bool,
    *,
    known: tuple[str, ...],
    actor: str,
    now: dt.datetime,
) -> dict[str, bool]:
    """Switch ``name`` (one of ``known``) on or off; the choices kept afterwards."""
    if name not in known:
        raise ActionError("unknown_switch", f"no scheduled report or section {name!r}")
    async with db.transaction() as session:
        row = await session.get(ReportSwitch, name, with_for_update=True)
        if row is None or row.enabled != enabled:
            before = None if row is None else row.enabled
            if row is None:
                session.add(ReportSwitch(name=name, enabled=enabled, updated_at=now,
                                         updated_by=actor))  # fmt: skip
            else:
                row.enabled, row.updated_at, row.updated_by = enabled, now, actor
            await admin_log.record(
                session, actor=actor, action=ACTION, now=now,
                before={name: before}, after={name: enabled},
            )  # fmt: skip
    return await chosen(db)
