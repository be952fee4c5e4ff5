"""Buttons of the resellers list, the card's edit, history and customers, and registering
a reseller: one codec per family, ``adm:<family>:...`` like the rest of the admin's, each
family's layout beside it below (a reseller is named by its Telegram id).

Data only says which button was tapped; whether the one who tapped may manage resellers
is looked up on the server every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.reseller_search import Field, ListFilter
from handlers.admin.callbacks import PAGE, PREFIX, TELEGRAM_ID
from handlers.callback_codecs import NONCE, One, Plain, Two, choice, matched
from models import Billing

QUERY_BYTES = 40  # what a search may be, so that it fits a button's 64 bytes
# A page about one reseller: adm:<family>:<telegram id>:<page> (the views' pagers take one).
ResellerPage = Two[int, int]
# A type picked during a flow: adm:<family>:<prepaid|postpaid> (the views' pickers take one).
Choice = One[Billing]


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
        return rf"^{PREFIX}:{self.family}:({filters}):({PAGE.regex})(?::(.+))?$"

    def parse(self, context: BotContext) -> tuple[ListFilter, int, str]:
        match = matched(context)
        return ListFilter(match.group(1)), int(match.group(2)), clip_query(match.group(3) or "")


LIST = ListPage("rl")
SEARCH = Plain(PREFIX, "rq")  # asks what to search for
HISTORY = ResellerPage(PREFIX, "rh", TELEGRAM_ID, PAGE)  # a page of its history
CUSTOMERS = ResellerPage(PREFIX, "rc", TELEGRAM_ID, PAGE)  # a page of its customers
EDIT_MENU = One(PREFIX, "rem", TELEGRAM_ID)  # adm:rem:<telegram id>
EDIT = Two(PREFIX, "re", TELEGRAM_ID, choice(Field))  # adm:re:<telegram id>:<field>
EDIT_TYPE = Choice(PREFIX, "ret", choice(Billing))  # adm:ret:<type> picked on the edit step
NEW = Plain(PREFIX, "rn")  # registering a reseller
NEW_TYPE = Choice(PREFIX, "rnt", choice(Billing))
NEW_SAVE = One(PREFIX, "rns", NONCE)  # adm:rns:<nonce minted with the summary>
NEW_CANCEL = Plain(PREFIX, "rnx")
