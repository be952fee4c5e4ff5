"""What the error handler tells a user whose update failed: pure functions of the
reader's translator, like every views module."""

from __future__ import annotations

from bot.i18n import Translator


def sorry(t: Translator) -> str:
    return t._("Sorry, something went wrong on our side. Please try again in a moment.")


def storage_unavailable(t: Translator) -> str:
    """The database is down, unreachable or full: the update's transaction rolled back."""
    return t._(
        "⚠️ The bot cannot save anything right now, so nothing was changed. "
        "Please try again in a few minutes."
    )
