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


@dataclass(frozen=True)
class Subscription:
    """One of the chat's subscriptions: ``cs:<family>:<customer id>``; an id has at most 9
    digits, so a forged one still fits the database's integer."""

    family: str

    def build(self, customer_id: int) -> str:
        return keyboards.data(PREFIX, self.family, customer_id)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:(\\d{{1,9}})$"

    def parse(self, context: BotContext) -> int:
        assert context.matches, "only for handlers routed by this codec's pattern"
        return int(context.matches[0].group(1))


@dataclass(frozen=True)
class NoticeChoice:
    """Set one choice of one subscription: ``cs:<family>:<customer id>:<p|r>:<value>``.

    The data says what the tap asks for (promotions on, only the last reminder, ...), not
    "switch it": a second tap on the same button asks for the same and changes nothing.
    """

    family: str

    def build(self, customer_id: int, which: str, value: str) -> str:
        return keyboards.data(PREFIX, self.family, customer_id, which, value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:(\\d{{1,9}}):(p:(?:on|off)|r:(?:all|last))$"

    def parse(self, context: BotContext) -> tuple[int, str, str]:
        assert context.matches, "only for handlers routed by this codec's pattern"
        which, value = context.matches[0].group(2).split(":")
        return int(context.matches[0].group(1)), which, value


# Which notices this chat gets: the screen (asking which subscription when there are
# several), one subscription's choices, and setting one of them.
NOTICES = Plain("nt")
NOTICES_OF = Subscription("ntc")
NOTICES_SET = NoticeChoice("nts")
# The switches of the screen when choices were the chat's: an older message's buttons
# open the screen again.
NOTICES_PROMOTIONS = Plain("nt:p")
NOTICES_REMINDERS = Plain("nt:r")
