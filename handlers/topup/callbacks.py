"""The top-up buttons' callback data: one codec per family builds it and parses it.

Data is ``tu:<family>[:values]``, each family's layout beside it below (``tu:ok:42``). A
request's buttons and the lists' pages are this feature's own shapes: a page that may be
left out (the first), and a request that may carry the list page it was tapped on. Data
only says which button was tapped; who tapped it, and whether they may, is always looked
up on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from handlers.callback_codecs import NONCE, One, Plain

PREFIX = "tu"
_ID = r"(\d{1,9})"
_PAGE = r"(?::(\d{1,6}))?"


def _group(context: BotContext, group: int) -> str | None:
    return context.matches[0].group(group) if context.matches else None


@dataclass(frozen=True)
class Paged:
    """A list's page: ``<prefix>`` (the first) or ``<prefix>:<page>``."""

    prefix: str

    def build(self, page: int = 0) -> str:
        return keyboards.data(self.prefix, page)

    def pattern(self) -> str:
        return f"^{self.prefix}{_PAGE}$"

    def page(self, context: BotContext) -> int:
        found = _group(context, 1)
        return int(found) if found else 0


@dataclass(frozen=True)
class Tapped:
    """What a request's button says: the request, and the list page it was on."""

    id: int
    page: int


@dataclass(frozen=True)
class Ref:
    """A request's (or a method's) button: ``<prefix>:<id>``, with the page if ``paged``."""

    prefix: str
    paged: bool = False

    def build(self, id: int, page: int | None = None) -> str:
        if self.paged and page is not None:
            return keyboards.data(self.prefix, id, page)
        return keyboards.data(self.prefix, id)

    def pattern(self) -> str:
        return f"^{self.prefix}:{_ID}{_PAGE if self.paged else ''}$"

    def parse(self, context: BotContext) -> Tapped:
        found, page = _group(context, 1), _group(context, 2) if self.paged else None
        assert found is not None, "only for handlers registered with this codec's pattern"
        return Tapped(int(found), int(page) if page else 0)


# The reseller's flow and list.
NEW = Plain(PREFIX, keyboards.TOPUP_NEW.split(":")[1])  # tu:new
CANCEL_FLOW = Plain(PREFIX, keyboards.TOPUP_CANCEL_FLOW.split(":")[1])  # tu:cancel
METHOD = Ref(f"{PREFIX}:m")  # tu:m:<method id>
CONFIRM = One(PREFIX, "c", NONCE)  # tu:c:<nonce minted with the confirmation>
LIST = Paged(keyboards.TOPUP_LIST)  # tu:list[:<page>]
WITHDRAW = Ref(f"{PREFIX}:x", paged=True)  # tu:x:<request id>[:<page>]
# The admins' side.
PENDING = Paged(keyboards.TOPUP_PENDING)  # tu:pending[:<page>]
APPROVE = Ref(f"{PREFIX}:ok", paged=True)  # tu:ok:<request id>[:<page>]
REJECT = Ref(f"{PREFIX}:no")  # tu:no:<request id>: asks for the reason
REJECT_WITHOUT_REASON = Ref(f"{PREFIX}:skip")  # tu:skip:<request id>
