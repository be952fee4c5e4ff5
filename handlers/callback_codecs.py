"""The shapes of inline buttons' callback data that the features share.

A feature's button data is ``<prefix>:<family>[:<value>...]``: the prefix names the feature
(``cu``, ``adm``), the family the button, and each value is one ``Field``: what it may be
(a regex), how it is written and how it is read back. A feature's callbacks module declares
its families from these shapes with its own prefix, one line each, e.g.

    PLAN = One(PREFIX, "p", number(9))  # cu:p:<plan id>

and each family builds its data (``build``), gives the pattern that routes a tap back to
its handler (``pattern``) and reads the values from that match (``parse``). A shape only
one feature has stays in that feature's module.

The data only says which button was tapped: who tapped it, and whether they may, is looked
up on the server. A value's pattern bounds it (an id's digits fit the database's integer,
a nonce has the characters a minted one has), so a forged button routes nowhere or is read
as a value the server then checks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from bot import keyboards
from bot.context import BotContext

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")
E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class Field(Generic[T]):
    """One value of a button's data: the regex it matches (with no capturing group: the
    shape puts each value in one), how it is read back and how it is written."""

    regex: str
    read: Callable[[str], T]
    write: Callable[[T], object] = str


def number(digits: int) -> Field[int]:
    """A whole number of 1 to ``digits`` digits: an id, a page, a place in a list."""
    return Field(rf"\d{{1,{digits}}}", int)


def choice(values: type[E]) -> Field[E]:
    """One member of an enumeration, written as its value."""
    return Field("|".join(str(v.value) for v in values), values, lambda v: v.value)


def one_of(*words: str) -> Field[str]:
    """One of a few words, read as the word."""

    def write(word: str) -> str:
        assert word in words, f"{word!r} is none of {words}"
        return word

    return Field("|".join(words), str, write)


# The nonce minted with a confirmation screen (a Save, a Send) that its button carries.
NONCE = Field(r"[\w-]{1,32}", str)
# What a tap asks for, on (1) or off (0): a second tap on the same button asks the same.
FLAG: Field[bool] = Field("[01]", lambda v: v == "1", int)


def matched(context: BotContext) -> re.Match[str]:
    """The match of the pattern that routed this tap."""
    assert context.matches, "only for handlers routed by this codec's pattern"
    return context.matches[0]


def _groups(context: BotContext) -> tuple[str, ...]:
    return matched(context).groups()


@dataclass(frozen=True)
class _Shape:
    feature: str  # the feature's prefix
    family: str

    def _data(self, *values: object) -> str:
        return keyboards.data(self.feature, self.family, *values)

    def _pattern(self, *fields: Field[Any]) -> str:
        values = "".join(f":({f.regex})" for f in fields)
        return f"^{self.feature}:{self.family}{values}$"


@dataclass(frozen=True)
class Plain(_Shape):
    """A button with no value: ``<prefix>:<family>``."""

    def build(self) -> str:
        return self._data()

    def pattern(self) -> str:
        return self._pattern()


@dataclass(frozen=True)
class One(_Shape, Generic[A]):
    """``<prefix>:<family>:<value>``."""

    value: Field[A]

    def build(self, value: A) -> str:
        return self._data(self.value.write(value))

    def pattern(self) -> str:
        return self._pattern(self.value)

    def parse(self, context: BotContext) -> A:
        (value,) = _groups(context)
        return self.value.read(value)


@dataclass(frozen=True)
class Two(_Shape, Generic[A, B]):
    """``<prefix>:<family>:<first>:<second>``."""

    first: Field[A]
    second: Field[B]

    def build(self, first: A, second: B) -> str:
        return self._data(self.first.write(first), self.second.write(second))

    def pattern(self) -> str:
        return self._pattern(self.first, self.second)

    def parse(self, context: BotContext) -> tuple[A, B]:
        first, second = _groups(context)
        return self.first.read(first), self.second.read(second)


@dataclass(frozen=True)
class Three(_Shape, Generic[A, B, C]):
    """``<prefix>:<family>:<first>:<second>:<third>``."""

    first: Field[A]
    second: Field[B]
    third: Field[C]

    def build(self, first: A, second: B, third: C) -> str:
        values = self.first.write(first), self.second.write(second), self.third.write(third)
        return self._data(*values)

    def pattern(self) -> str:
        return self._pattern(self.first, self.second, self.third)

    def parse(self, context: BotContext) -> tuple[A, B, C]:
        first, second, third = _groups(context)
        return self.first.read(first), self.second.read(second), self.third.read(third)
