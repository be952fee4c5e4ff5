"""The customer's buttons: one codec per family builds their data and the pattern that
routes a tap back, so no callback string or regex is written twice.

Data is ``cs:<family>[:values]``; reminders already sent carry it, so it does not change.
It only says which button was tapped: whose subscription it is comes from the chat, looked
up on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext

PREFIX = "cs"
_PAGE = r"(?::(\d{1,4}))?"


@dataclass(frozen=True)
class Plain:
    """A button with no value: ``cs:<family>``."""

    family: str

    def build(self) -> str:
        return keyboards.data(PREFIX, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}$"


@dataclass(frozen=True)
class Paged:
    """A screen with pages: ``cs:<family>`` (the first) or ``cs:<family>:<page>``."""

    family: str

    def build(self, page: int | None = None) -> str:
        if page is None:
            return keyboards.data(PREFIX, self.family)
        return keyboards.data(PREFIX, self.family, page)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}{_PAGE}$"

    def page(self, context: BotContext) -> int:
        found = context.matches[0].group(1) if context.matches else None
        return int(found) if found else 0


# The status screen and its history's pages (also "Keep it" on the unlink question).
STATUS = Paged("st")
# Ask the reseller to renew (on the status and on the expiry reminder, built by jobs).
RENEWAL_REQUEST = Plain("rr")
# Pay the renewal in Stars (on the status and the reminder, where the reseller offers it).
PAY_RENEWAL = Plain("pay")
# ... every 30 days by a Stars subscription (on the pay screen), and stopping it (status).
SUBSCRIBE = Plain("sub")
UNSUBSCRIBE = Plain("unsub")
# Unlink this chat: the question, then its confirmation.
UNLINK = Plain("ul")
UNLINK_CONFIRM = Plain("ul:y")
# Which notices this chat gets: the screen, then promotions on/off and all reminders or
# only the last one.
NOTICES = Plain("nt")
NOTICES_PROMOTIONS = Plain("nt:p")
NOTICES_REMINDERS = Plain("nt:r")
