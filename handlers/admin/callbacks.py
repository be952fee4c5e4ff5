"""The admin feature's buttons: one codec per family builds their data and the pattern
that routes a tap back, so no callback string or regex is written twice.

Data is ``adm:<family>[:value]``. It only says which button was tapped: whether the one
who tapped it is an admin is looked up on the server.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext
from bot.services.roles import Permission

PREFIX = "adm"
_TELEGRAM_ID = r"(\d{1,19})"
_PAGE = r"(\d{1,6})"


def _value(context: BotContext) -> str:
    assert context.matches, "only for handlers routed by this codec's pattern"
    match: re.Match[str] = context.matches[0]
    return match.group(1)


@dataclass(frozen=True)
class Plain:
    """A button with no value: ``adm:<family>``."""

    family: str

    def build(self) -> str:
        return keyboards.data(PREFIX, self.family)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}$"


@dataclass(frozen=True)
class Page:
    """A page of a list: ``adm:<family>:<page>``."""

    family: str

    def build(self, page: int) -> str:
        return keyboards.data(PREFIX, self.family, page)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_PAGE}$"

    def parse(self, context: BotContext) -> int:
        return int(_value(context))


@dataclass(frozen=True)
class ByReseller:
    """A button about one reseller, named by its Telegram id: ``adm:<family>:<id>``."""

    family: str

    def build(self, telegram_id: int) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id)

    def pattern(self) -> str:
        return f"^{PREFIX}:{self.family}:{_TELEGRAM_ID}$"

    def parse(self, context: BotContext) -> int:
        return int(_value(context))


# The admin menu's entries (bot.keyboards builds the menu and keeps their data).
RESELLERS = Page(keyboards.ADMIN_RESELLERS.split(":")[1])
AUDIT = Plain(keyboards.ADMIN_AUDIT.split(":")[1])
# The reseller card and what it leads to.
CARD = ByReseller("rs")
REACTIVATE = ByReseller("act")
SUSPEND = ByReseller("sus")  # asks for the reason
SUSPEND_NOW = ByReseller("susy")  # without a reason
SUSPEND_CUSTOMERS = ByReseller("susc")  # toggles: also disable their customers on the panels


@dataclass(frozen=True)
class PermissionToggle:
    """Allow or forbid one permission of a staff admin: ``adm:<family>:<id>:<code>:<1|0>``.

    The data says what the tap asks for (allowed or not), not "switch it": a second tap on
    the same button asks for the same again and changes nothing.
    """

    family: str

    def build(self, telegram_id: int, permission: Permission, allowed: bool) -> str:
        return keyboards.data(PREFIX, self.family, telegram_id, permission.value, int(allowed))

    def pattern(self) -> str:
        codes = "|".join(p.value for p in Permission)
        return f"^{PREFIX}:{self.family}:{_TELEGRAM_ID}:({codes}):([01])$"

    def parse(self, context: BotContext) -> tuple[int, Permission, bool]:
        assert context.matches, "only for handlers routed by this codec's pattern"
        match: re.Match[str] = context.matches[0]
        return int(match.group(1)), Permission(match.group(2)), match.group(3) == "1"


# Staff admins (the owners' screens). ByReseller's shape serves: a Telegram id.
STAFF = Page(keyboards.ADMIN_STAFF.split(":")[1])
STAFF_CARD = ByReseller("stf")
STAFF_ADD = Plain("stfa")  # asks who
STAFF_TOGGLE = PermissionToggle("stfp")
STAFF_REMOVE = ByReseller("stfx")  # asks to confirm
STAFF_REMOVE_YES = ByReseller("stfy")
# The request_id of the reply keyboard's user picker that names a new staff admin: the
# users_shared message it brings back carries it. Not the reseller picker's (1), so that
# one left on a keyboard can never name a staff admin.
STAFF_PICKER = 2
