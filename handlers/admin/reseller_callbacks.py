"""Buttons of the resellers list, the card's edit, history and customers, and registering
a reseller: one codec per family, ``adm:<family>:...`` like the rest of the admin's.

Data only says which button was tapped; whether the one who tapped may manage resellers
is looked up on the server every time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.reseller_search import Field, ListFilter
from handlers.admin.callbacks import PREFIX, ByReseller, Plain
from models import Billing

_ID = r"(\d{1,19})"
_PAGE = r"(\d{1,6})"
QUERY_BYTES = 40  # what a search may be, so that it fits a button's 64 bytes


def _match(context: BotContext) -> re.Match[str]:
    assert context.matches, "only for handlers routed by this codec's pattern"
    return context.matches[0]


def clip_query(text: str) -> str:
    """A search as the list keeps it: one line, at most ``QUERY_BYTES`` bytes."""
    text = " ".join(text.split())
    while len(text.encode()) > QUERY_BYTES:
        text = text[:-1]
    return text.strip()


@dataclass(frozen=True)
class ListPage:
    """A page of the list under a filter and a search: ``adm:rl:<filter>:<page>[:<q>]``."""

    family: str

    def build(self, flt: ListFilter, page: int, query: str = "") -> str:
        parts: list[object] = [PREFIX, self.family, flt.value, page]
        return keyboards.data(*parts, query) if query else keyboards.data(*parts)

    def pattern(self) -> str:
        filters = "|".join(f.value for f in ListFilter)
        return rf"^{PREFIX}:{self.family}:({filters}):{_PAGE}(?::(.+))?$"

    def parse(self, context: BotContext) -> tuple[ListFilter, int, str]:
        match = _match(context)
        return ListFilter(match.group(1)), int(match.group(2)), clip_query(match.group(3) or "")


@dataclass(frozen=True)
class ResellerPage:
    """A page about one reseller: ``adm:<family>:<telegram id>:<page>``."""

    family: str

    def build(self, telegram_id: int, page: int) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, page)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_ID}:{_PAGE}$"

    def parse(self, context: BotContext) -> tuple[int, int]:
        match = _match(context)
        return int(match.group(1)), int(match.group(2))


@dataclass(frozen=True)
class EditField:
    """Edit one field of a reseller: ``adm:re:<telegram id>:<field>``."""

    family: str

    def build(self, telegram_id: int, field: Field) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, field.value)

    def pattern(self) -> str:
        fields = "|".join(f.value for f in Field)
        return f"^{PREFIX}:{self.family}:{_ID}:({fields})$"

    def parse(self, context: BotContext) -> tuple[int, Field]:
        match = _match(context)
        return int(match.group(1)), Field(match.group(2))


@dataclass(frozen=True)
class Choice:
    """A type picked during a flow: ``adm:<family>:<prepaid|postpaid>``."""

    family: str

    def build(self, billing: Billing) -> str:
        return keyboards.data(PREFIX, self.family, billing.value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:({Billing.PREPAID.value}|{Billing.POSTPAID.value})$"

    def parse(self, context: BotContext) -> Billing:
        return Billing(_match(context).group(1))


@dataclass(frozen=True)
class Nonce:
    """A Save keyed by the nonce minted with its summary: ``adm:<family>:<nonce>``."""

    family: str

    def build(self, nonce: str) -> str:
        return keyboards.data(PREFIX, self.family, nonce)

    def pattern(self) -> str:
        return rf"^{PREFIX}:{self.family}:([\w-]{{1,32}})$"

    def parse(self, context: BotContext) -> str:
        return _match(context).group(1)


LIST = ListPage("rl")
SEARCH = Plain("rq")  # asks what to search for
HISTORY = ResellerPage("rh")
CUSTOMERS = ResellerPage("rc")
EDIT_MENU = ByReseller("rem")
EDIT = EditField("re")
EDIT_TYPE = Choice("ret")  # the type picked on the edit step
NEW = Plain("rn")  # registering a reseller
NEW_TYPE = Choice("rnt")
NEW_SAVE = Nonce("rns")
NEW_CANCEL = Plain("rnx")
