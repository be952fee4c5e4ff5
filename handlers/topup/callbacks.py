"""The top-up buttons' callback data: one codec per family builds it and parses it.

Data only says which button was tapped (``tu:ok:42``); who tapped it, and whether they
may, is always looked up on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext

_ID = r"(\d{1,9})"
_PAGE = r"(?::(\d{1,6}))?"


def _group(context: BotContext, group: int) -> str | None:
    return context.matches[0].group(group) if context.matches else None


@dataclass(frozen=True)
class Plain:
    """A button with nothing to carry."""

    data: str

    def build(self) -> str:
        return keyboards.data(self.data)

    def pattern(self) -> str:
        return f"^{self.data}$"


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


@dataclass(frozen=True)
class Nonce:
    """A confirmation: ``<prefix>:<nonce>``, the nonce minted when the screen was shown."""

    prefix: str

    def build(self, nonce: str) -> str:
        return keyboards.data(self.prefix, nonce)

    def pattern(self) -> str:
        return rf"^{self.prefix}:([\w-]{{1,32}})$"

    def parse(self, context: BotContext) -> str:
        found = _group(context, 1)
        assert found is not None, "only for handlers registered with this codec's pattern"
        return found


# The reseller's flow and list.
NEW = Plain(keyboards.TOPUP_NEW)
CANCEL_FLOW = Plain(keyboards.TOPUP_CANCEL_FLOW)
METHOD = Ref("tu:m")
CONFIRM = Nonce("tu:c")
LIST = Paged(keyboards.TOPUP_LIST)
WITHDRAW = Ref("tu:x", paged=True)
# The admins' side.
PENDING = Paged(keyboards.TOPUP_PENDING)
APPROVE = Ref("tu:ok", paged=True)
REJECT = Ref("tu:no")
REJECT_WITHOUT_REASON = Ref("tu:skip")
