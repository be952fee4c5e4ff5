"""The sale feature's buttons: one codec per family builds their data and the pattern
that routes a tap back, so no callback string or regex is written twice.

Data is ``cu:<family>[:values]``. It only says which button was tapped: who tapped it,
and whether the customer is theirs, is looked up on the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.customers import Filter

PREFIX = "cu"
_ID = r"(\d{1,9})"
_PAGE = r"(\d{1,6})"
_NONCE = r"([\w-]{1,32})"


def _groups(context: BotContext) -> tuple[str, ...]:
    assert context.matches, "only for handlers routed by this codec's pattern"
    match: re.Match[str] = context.matches[0]
    return match.groups()


@dataclass(frozen=True)
class Plain:
    """A button with no value: ``cu:<family>``."""

    family: str

    def build(self) -> str:
        return keyboards.data(PREFIX, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}$"


@dataclass(frozen=True)
class ById:
    """A button about one row: ``cu:<family>:<id>``."""

    family: str

    def build(self, row_id: int) -> str:
        return keyboards.data(PREFIX, self.family, row_id)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}$"

    def parse(self, context: BotContext) -> int:
        return int(_groups(context)[0])


@dataclass(frozen=True)
class Page:
    """A page of the customer picker: ``cu:<family>:<page>``."""

    family: str

    def build(self, page: int) -> str:
        return keyboards.data(PREFIX, self.family, page)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_PAGE}$"

    def parse(self, context: BotContext) -> int:
        return int(_groups(context)[0])


@dataclass(frozen=True)
class Nonce:
    """A confirmation, keyed by the nonce minted with its screen: ``cu:<family>:<nonce>``."""

    family: str

    def build(self, nonce: str) -> str:
        return keyboards.data(PREFIX, self.family, nonce)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_NONCE}$"

    def parse(self, context: BotContext) -> str:
        return _groups(context)[0]


@dataclass(frozen=True)
class Listing:
    """A page of the customers list under a filter: ``cu:<family>:<filter>:<page>``."""

    family: str

    def build(self, flt: Filter, page: int) -> str:
        return keyboards.data(PREFIX, self.family, flt.value, page)

    def pattern(self) -> str:
        filters = "|".join(f.value for f in Filter)
        return f"^{PREFIX}:{self.family}:({filters}):{_PAGE}$"

    def parse(self, context: BotContext) -> tuple[Filter, int]:
        flt, page = _groups(context)
        return Filter(flt), int(page)


@dataclass(frozen=True)
class Request:
    """Renew a customer on the plan they asked for: ``cu:<family>:<customer>:<plan>``."""

    family: str

    def build(self, customer_id: int, plan_id: int) -> str:
        return keyboards.data(PREFIX, self.family, customer_id, plan_id)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:{_ID}$"

    def parse(self, context: BotContext) -> tuple[int, int]:
        customer_id, plan_id = _groups(context)
        return int(customer_id), int(plan_id)


# The menu's entries (bot.keyboards builds the menu and keeps their data).
ACTIVATE = Plain(keyboards.SALE_NEW.split(":")[1])
RENEW = Plain(keyboards.SALE_RENEW.split(":")[1])
CANCEL = Plain("x")
# In the flow.
PICK_CUSTOMER = ById("pk")
CUSTOMER_PAGE = Page("pg")
PLAN = ById("p")
CONFIRM = Nonce("c")
# Entries from a card and from a customer's renewal request (jobs build the latter).
RENEW_CUSTOMER = ById("r")
RENEW_REQUESTED = Request("rq")
# The list, the card and the invite link.
LIST = Listing("l")
CARD = ById("v")
INVITE = ById("i")
NEW_LINK = ById("n")
REVOKE_LINK = ById("k")
