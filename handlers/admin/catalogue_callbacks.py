"""The catalogue screens' buttons: one codec per family builds their data and the pattern
that routes a tap back, so no callback string or regex is written twice.

Data is ``cat:<family>[:values]``. It only says which button was tapped: whether the one
who tapped it may manage the catalogue is looked up on the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot import keyboards
from bot.context import BotContext

PREFIX = "cat"
_ID = r"(\d{1,9})"
_NONCE = r"([\w-]{1,32})"


class Kind(StrEnum):
    """What a catalogue row is."""

    PLAN = "p"
    TIER = "t"
    METHOD = "m"


class Field(StrEnum):
    """A field an admin types in a catalogue form."""

    CODE = "code"
    NAME = "name"
    DAYS = "days"
    PRICE = "price"
    MIN_CREDITS = "min"
    UNIT_PRICE = "unit"
    INSTRUCTIONS = "text"
    MIN_TOTAL = "mint"


# What each kind of row can be edited in, one field at a time.
EDITABLE = {
    Kind.PLAN: (Field.NAME, Field.DAYS, Field.PRICE),
    Kind.TIER: (Field.MIN_CREDITS, Field.UNIT_PRICE),
    Kind.METHOD: (Field.NAME, Field.INSTRUCTIONS, Field.MIN_TOTAL),
}
# What a new row of each kind is asked for, in this order.
NEW = {
    Kind.PLAN: (Field.CODE, Field.NAME, Field.DAYS, Field.PRICE),
    Kind.TIER: (Field.MIN_CREDITS, Field.UNIT_PRICE),
    Kind.METHOD: (Field.CODE, Field.NAME, Field.INSTRUCTIONS, Field.MIN_TOTAL),
}


def _groups(context: BotContext) -> tuple[str, ...]:
    assert context.matches, "only for handlers routed by this codec's pattern"
    match: re.Match[str] = context.matches[0]
    return match.groups()


def _kinds() -> str:
    return "|".join(k.value for k in Kind)


@dataclass(frozen=True)
class Plain:
    """A button with no value: ``cat:<family>``."""

    family: str

    def build(self) -> str:
        return keyboards.data(PREFIX, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}$"


@dataclass(frozen=True)
class ByKind:
    """A button about one kind of row: ``cat:<family>:<kind>``."""

    family: str

    def build(self, kind: Kind) -> str:
        return keyboards.data(PREFIX, self.family, kind.value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:({_kinds()})$"

    def parse(self, context: BotContext) -> Kind:
        return Kind(_groups(context)[0])


@dataclass(frozen=True)
class ById:
    """A button about one row: ``cat:<family>:<kind>:<id>``."""

    family: str

    def build(self, kind: Kind, row_id: int) -> str:
        return keyboards.data(PREFIX, self.family, kind.value, row_id)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:({_kinds()}):{_ID}$"

    def parse(self, context: BotContext) -> tuple[Kind, int]:
        kind, row_id = _groups(context)
        return Kind(kind), int(row_id)


@dataclass(frozen=True)
class ByField:
    """Edit one field of one row: ``cat:<family>:<kind>:<id>:<field>``."""

    family: str

    def build(self, kind: Kind, row_id: int, field: Field) -> str:
        return keyboards.data(PREFIX, self.family, kind.value, row_id, field.value)

    def pattern(self) -> str:
        fields = "|".join(f.value for f in Field)
        return f"^{PREFIX}:{self.family}:({_kinds()}):{_ID}:({fields})$"

    def parse(self, context: BotContext) -> tuple[Kind, int, Field]:
        kind, row_id, field = _groups(context)
        return Kind(kind), int(row_id), Field(field)


@dataclass(frozen=True)
class Nonce:
    """A Save, keyed by the nonce minted with its summary: ``cat:<family>:<nonce>``."""

    family: str

    def build(self, nonce: str) -> str:
        return keyboards.data(PREFIX, self.family, nonce)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_NONCE}$"

    def parse(self, context: BotContext) -> str:
        return _groups(context)[0]


# The admin menu's entry (bot.keyboards builds the menu and keeps its data).
MENU = Plain(keyboards.ADMIN_CATALOGUE.split(":")[1])
LIST = ByKind("l")  # the plans, the tiers or the methods
CARD = ById("c")  # one of them, with its buttons
PREVIEW = ByKind("pv")  # the plans (or the tiers) as resellers see them
METHOD_PREVIEW = ById("mp")  # a method's screen as a reseller paying by it sees it
ENABLE = ById("on")
DISABLE = ById("off")
UP = ById("up")
DOWN = ById("dn")
# The form (a flow): a new row, one field of a row, or removing a tier.
ADD = ByKind("a")
EDIT = ByField("e")
REMOVE = ById("rm")
SAVE = Nonce("sv")
CANCEL = Plain("x")
