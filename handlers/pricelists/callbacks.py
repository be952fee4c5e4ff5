"""The price lists' buttons: one codec per family builds their data and the pattern that
routes a tap back.

Data is ``pl:<scope>:<family>[:values]``; the scope is ``a`` on the admins' screens (the
business's lists) and ``p`` on a parent reseller's (its own lists). It only says which
button was tapped: whether the one who tapped it may manage those lists, that list or
that reseller is looked up on the server at every tap.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot import keyboards
from bot.context import BotContext
from handlers.callback_codecs import matched

PREFIX = "pl"
_ID = r"(\d{1,19})"


class Scope(StrEnum):
    ADMIN = "a"  # the business's lists, for admins allowed the catalogue
    PARENT = "p"  # a parent reseller's own lists, for its sub-resellers


_SCOPES = "(a|p)"


@dataclass(frozen=True)
class Plain:
    """``pl:<scope>:<family>``."""

    family: str

    def build(self, scope: Scope) -> str:
        return keyboards.data(PREFIX, scope.value, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{_SCOPES}:{self.family}$"

    def parse(self, context: BotContext) -> Scope:
        return Scope(matched(context).groups()[0])


@dataclass(frozen=True)
class One:
    """``pl:<scope>:<family>:<id>``: a list, or a reseller's Telegram id."""

    family: str

    def build(self, scope: Scope, value: int) -> str:
        return keyboards.data(PREFIX, scope.value, self.family, value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{_SCOPES}:{self.family}:{_ID}$"

    def parse(self, context: BotContext) -> tuple[Scope, int]:
        scope, value = matched(context).groups()
        return Scope(scope), int(value)


@dataclass(frozen=True)
class Two:
    """``pl:<scope>:<family>:<id>:<id>``: a list and a plan, or a reseller and a list."""

    family: str

    def build(self, scope: Scope, first: int, second: int) -> str:
        return keyboards.data(PREFIX, scope.value, self.family, first, second)

    def pattern(self) -> str:
        return f"^{PREFIX}:{_SCOPES}:{self.family}:{_ID}:{_ID}$"

    def parse(self, context: BotContext) -> tuple[Scope, int, int]:
        scope, first, second = matched(context).groups()
        return Scope(scope), int(first), int(second)


HOME = Plain("h")  # the admins' lists, or a parent's /prices
CARD = One("c")  # one list: each plan's base price (or the parent's cost) and list price
SET = Two("set")  # a flow: type a plan's price on a list (list id, plan id)
CLEAR = Two("clr")  # the plan goes back to the list's percentage (list id, plan id)
NEW = Plain("new")  # a flow: name, percentage off
RENAME = One("ren")  # a flow: the new name
DELETE = One("del")  # asks first
DELETE_YES = One("dely")
RESELLER = One("rs")  # the lists a reseller (Telegram id) can be put on
PUT = Two("put")  # put a reseller (Telegram id) on a list (0: base prices)
CANCEL = Plain("x")  # leaves the flow
