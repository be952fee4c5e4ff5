"""The catalogue screens' buttons: one codec per family builds their data and the pattern
that routes a tap back, so no callback string or regex is written twice.

Data is ``cat:<family>[:values]``, each family's layout beside it below: a row is named by
its kind and its id. It only says which button was tapped: whether the one who tapped it
may manage the catalogue is looked up on the server.
"""

from __future__ import annotations

from enum import StrEnum

from bot import keyboards
from handlers.callback_codecs import NONCE, One, Plain, Three, Two, choice, number

PREFIX = "cat"


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

_KIND = choice(Kind)
_ID = number(9)

# The admin menu's entry (bot.keyboards builds the menu and keeps its data).
MENU = Plain(PREFIX, keyboards.ADMIN_CATALOGUE.split(":")[1])  # cat:menu
LIST = One(PREFIX, "l", _KIND)  # cat:l:<kind>: the plans, the tiers or the methods
CARD = Two(PREFIX, "c", _KIND, _ID)  # cat:c:<kind>:<id>: one of them, with its buttons
PREVIEW = One(PREFIX, "pv", _KIND)  # the plans (or the tiers) as resellers see them
# A method's screen as a reseller paying by it sees it.
METHOD_PREVIEW = Two(PREFIX, "mp", _KIND, _ID)
ENABLE = Two(PREFIX, "on", _KIND, _ID)
DISABLE = Two(PREFIX, "off", _KIND, _ID)
UP = Two(PREFIX, "up", _KIND, _ID)
DOWN = Two(PREFIX, "dn", _KIND, _ID)
# The form (a flow): a new row, one field of a row, or removing a tier.
ADD = One(PREFIX, "a", _KIND)  # cat:a:<kind>
EDIT = Three(PREFIX, "e", _KIND, _ID, choice(Field))  # cat:e:<kind>:<id>:<field>
REMOVE = Two(PREFIX, "rm", _KIND, _ID)
SAVE = One(PREFIX, "sv", NONCE)  # cat:sv:<nonce minted with the summary>
CANCEL = Plain(PREFIX, "x")
