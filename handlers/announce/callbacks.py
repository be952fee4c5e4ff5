"""The announcement buttons: ``an:<family>[:value]``, one codec per family, each family's
layout beside it below.

Data only says which button was tapped: who may announce to whom is looked up on the
server at every step, and a value (a reseller, a plan) is checked by the service against
the asker, so a forged button reaches no one it should not.
"""

from __future__ import annotations

from dataclasses import dataclass

from handlers.calendar import Calendar
from handlers.callback_codecs import NONCE, Field, One, Plain, Two, number

PREFIX = "an"
_WORD = Field("[a-z]{2,16}", str)  # a choice among fixed words (an audience, a segment)
_VALUE = NONCE  # a segment's value (an id or a language code): a nonce's characters
# An announcement's id has at most 9 digits, so a forged one still fits the database's
# integer; a page number past the last page shows the last.
_ID = number(9)
_PAGE = number(4)


@dataclass(frozen=True)
class Paged(One[int]):
    """``an:<family>:<page>``: a page of a list."""

    def prefix(self) -> str:
        """What ``keyboards.pager`` puts before a page number."""
        return f"{self.feature}:{self.family}"


NEW = Plain(PREFIX, "new")  # on the menus (bot.keyboards.ANNOUNCE): compose an announcement
AUDIENCE = One(PREFIX, "aud", _WORD)  # customers or resellers (admins)
SEGMENT = One(PREFIX, "seg", _WORD)
VALUE = One(PREFIX, "val", _VALUE)
MAINTENANCE = Plain(PREFIX, "mnt")  # the maintenance notice's template instead of a text
BUTTON = One(PREFIX, "btn", _WORD)  # none, renew or url
SERVICE = Plain(PREFIX, "svc")  # on the preview: a service notice or not
SEND = One(PREFIX, "go", NONCE)  # the preview's nonce
SCHEDULE = One(PREFIX, "at", NONCE)  # the preview's nonce: ask for a time
CANCEL = Plain(PREFIX, "x")
STOP = One(PREFIX, "stop", _ID)  # the announcement's id, on its progress message
VALUES_PAGE = Paged(PREFIX, "vp", _PAGE)  # the value picker's pages (resellers, plans, panels)
HISTORY = Paged(PREFIX, "h", _PAGE)  # past announcements, newest first
CARD = Two(PREFIX, "c", _ID, _PAGE)  # an:c:<id>:<page>: one of them, and the page to go back to
CANCEL_SCHEDULED = Two(PREFIX, "cx", _ID, _PAGE)  # cancel a scheduled one, from its card
QUICK_TIME = One(PREFIX, "qt", _VALUE)  # a quick time to send at: a word (in1h, tom09, ...)
CALENDAR = Calendar(PREFIX, "cal")  # another day to send on; its scope is unused (0)
DAY_HOUR = One(PREFIX, "dh", _VALUE)  # an hour (HHMM) of the day picked on the calendar
