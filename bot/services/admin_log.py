"""The action log: every admin or operator action, with who, when, what and why."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models import AdminAction

MAX_REASON = 255


class ActionError(Exception):
    """An admin action was refused before anything was written.

    ``code`` says why, for the presentation; ``params`` are its plain values.
    """

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


def check_reason(reason: str | None) -> str | None:
    """A reason is optional; blank counts as none, longer than 255 is refused (not cut)."""
    if reason is None or not reason.strip():
        return None
    reason = " ".join(reason.split())
    if len(reason) > MAX_REASON:
        raise ActionError(
            "reason_too_long",
            f"the reason is {len(reason)} characters; at most {MAX_REASON} are kept",
            length=len(reason),
            limit=MAX_REASON,
        )
    return reason


async def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    now: dt.datetime,
    reseller_id: int | None = None,
    reason: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Log one action in the caller's transaction, so it is written with the change."""
    details = {"before": before, "after": after} if before or after else None
    session.add(
        AdminAction(
            actor=actor,
            action=action,
            reseller_id=reseller_id,
            reason=reason,
            details=json.dumps(details, default=str) if details else None,
            created_at=now,
        )
    )
    await session.flush()
