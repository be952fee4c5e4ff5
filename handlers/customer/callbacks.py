"""The customer's buttons: one codec per family builds their data and the pattern that
routes a tap back, so no callback string or regex is written twice.

Data is ``cs:<family>[:values]``, each family's layout beside it below; reminders already
sent carry it, so it does not change. It only says which button was tapped: whose
subscription it is comes from the chat, looked up on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from handlers.callback_codecs import One, Plain, matched, number

PREFIX = "cs"
_PAGE = r"(?::(\d{1,4}))?"
# A customer id has at most 9 digits, so a forged one still fits the database's integer.
_CUSTOMER = number(9)


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
RENEWAL_REQUEST = Plain(PREFIX, "rr")
# Pay the renewal in Stars (on the status and the reminder, where the reseller offers it).
PAY_RENEWAL = Plain(PREFIX, "pay")
# ... every 30 days by a Stars subscription (on the pay screen), and stopping it (status).
SUBSCRIBE = Plain(PREFIX, "sub")
UNSUBSCRIBE = Plain(PREFIX, "unsub")
# Unlink this chat: the question, then its confirmation.
UNLINK = Plain(PREFIX, "ul")
UNLINK_CONFIRM = Plain(PREFIX, "ul:y")


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
        return f"^{PREFIX}:{self.family}:({_CUSTOMER.regex}):(p:(?:on|off)|r:(?:all|last))$"

    def parse(self, context: BotContext) -> tuple[int, str, str]:
        match = matched(context)
        which, value = match.group(2).split(":")
        return int(match.group(1)), which, value


# Which notices this chat gets: the screen (asking which subscription when there are
# several), one subscription's choices (cs:ntc:<customer id>), and setting one of them.
NOTICES = Plain(PREFIX, "nt")
NOTICES_OF = One(PREFIX, "ntc", _CUSTOMER)
NOTICES_SET = NoticeChoice("nts")
# The switches of the screen when choices were the chat's: an older message's buttons
# open the screen again.
NOTICES_PROMOTIONS = Plain(PREFIX, "nt:p")
NOTICES_REMINDERS = Plain(PREFIX, "nt:r")
