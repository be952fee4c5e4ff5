"""The announcement buttons: ``an:<family>[:value]``, one codec per family.

Data only says which button was tapped: who may announce to whom is looked up on the
server at every step, and a value (a reseller, a plan) is checked by the service against
the asker, so a forged button reaches no one it should not.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext

PREFIX = "an"


def _group(context: BotContext, n: int = 1) -> str:
    assert context.matches, "only for handlers routed by this codec's pattern"
    return str(context.matches[0].group(n))


@dataclass(frozen=True)
class Plain:
    family: str

    def build(self) -> str:
        return keyboards.data(PREFIX, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}$"


@dataclass(frozen=True)
class Word:
    """``an:<family>:<word>``: a choice among fixed words (an audience, a segment)."""

    family: str

    def build(self, word: str) -> str:
        return keyboards.data(PREFIX, self.family, word)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:([a-z]{{2,16}})$"

    def parse(self, context: BotContext) -> str:
        return _group(context)


@dataclass(frozen=True)
class Value:
    """``an:<family>:<value>``: a segment's value (an id or a language code)."""

    family: str

    def build(self, value: object) -> str:
        return keyboards.data(PREFIX, self.family, value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:([\\w-]{{1,32}})$"

    def parse(self, context: BotContext) -> str:
        return _group(context)


@dataclass(frozen=True)
class Numbered:
    """``an:<family>:<id>``: an announcement, or the nonce of a preview."""

    family: str

    def build(self, value: int | str) -> str:
        return keyboards.data(PREFIX, self.family, value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:([\\w-]{{1,32}})$"

    def parse(self, context: BotContext) -> str:
        return _group(context)


NEW = Plain("new")  # on the menus (bot.keyboards.ANNOUNCE): compose an announcement
AUDIENCE = Word("aud")  # customers or resellers (admins)
SEGMENT = Word("seg")
VALUE = Value("val")
MAINTENANCE = Plain("mnt")  # the maintenance notice's template instead of a text
BUTTON = Word("btn")  # none, renew or url
SERVICE = Plain("svc")  # on the preview: a service notice or not
SEND = Numbered("go")  # the preview's nonce
SCHEDULE = Numbered("at")  # the preview's nonce: ask for a time
CANCEL = Plain("x")
STOP = Numbered("stop")  # the announcement's id, on its progress message
