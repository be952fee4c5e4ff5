"""The announcement buttons: ``an:<family>[:value]``, one codec per family.

Data only says which button was tapped: who may announce to whom is looked up on the
server at every step, and a value (a reseller, a plan) is checked by the service against
the asker, so a forged button reaches no one it should not.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from handlers.calendar import Calendar

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
    """``an:<family>:<nonce>``: the nonce of a preview."""

    family: str

    def build(self, value: int | str) -> str:
        return keyboards.data(PREFIX, self.family, value)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:([\\w-]{{1,32}})$"

    def parse(self, context: BotContext) -> str:
        return _group(context)


@dataclass(frozen=True)
class Id:
    """``an:<family>:<id>``: an announcement; at most 9 digits, so a forged one still fits
    the database's integer."""

    family: str

    def build(self, announcement_id: int) -> str:
        return keyboards.data(PREFIX, self.family, announcement_id)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:(\\d{{1,9}})$"

    def parse(self, context: BotContext) -> int:
        return int(_group(context))


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
STOP = Id("stop")  # the announcement's id, on its progress message


@dataclass(frozen=True)
class Paged:
    """``an:<family>:<page>``: a page of a list (a forged number past the last shows it)."""

    family: str

    def build(self, page: int) -> str:
        return keyboards.data(PREFIX, self.family, page)

    def prefix(self) -> str:
        """What ``keyboards.pager`` puts before a page number."""
        return f"{PREFIX}:{self.family}"

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:(\\d{{1,4}})$"

    def parse(self, context: BotContext) -> int:
        return int(_group(context))


@dataclass(frozen=True)
class OnPage:
    """``an:<family>:<id>:<page>``: one past announcement, and the list page to go back to.
    An id has at most 9 digits, so a forged one still fits the database's integer."""

    family: str

    def build(self, announcement_id: int, page: int) -> str:
        return keyboards.data(PREFIX, self.family, announcement_id, page)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:(\\d{{1,9}}):(\\d{{1,4}})$"

    def parse(self, context: BotContext) -> tuple[int, int]:
        return int(_group(context)), int(_group(context, 2))


VALUES_PAGE = Paged("vp")  # the value picker's pages (resellers, plans, panels)
HISTORY = Paged("h")  # past announcements, newest first
CARD = OnPage("c")  # one of them
CANCEL_SCHEDULED = OnPage("cx")  # cancel a scheduled one, from its card
QUICK_TIME = Value("qt")  # a quick time to send at: a word (in1h, tom09, ...)
CALENDAR = Calendar(PREFIX, "cal")  # another day to send on; its scope is unused (0)
DAY_HOUR = Value("dh")  # an hour (HHMM) of the day picked on the calendar
