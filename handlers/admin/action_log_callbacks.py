"""The action log's buttons: a page of the log and the filter pickers, each carrying the
filters chosen so far in a compact form, so the screen needs no state on the server.

Data is ``alg:<page>:<filters>`` for a page and ``alp:<which>:<filters>`` for a picker,
where ``<filters>`` is ``<admin>:<reseller>:<kind>:<from>:<to>``, each empty when not
chosen: the admin is ``c`` (the shell) or a Telegram id, the reseller a database id, the
kind its place in ``admin_log.KINDS``, the days ``yyyymmdd``. At most 62 bytes.

The data only says what to show: who may see it is looked up on the server, and a value
that does not parse (a day that does not exist, a kind this version does not know) is
refused as a whole.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import StrEnum

from bot import keyboards
from bot.context import BotContext
from bot.services import admin_log
from bot.services.admin_log import CLI, LogFilter
from handlers.callback_codecs import matched

LIST_PREFIX = "alg"
PICK_PREFIX = "alp"
_FILTERS = r"(c|\d{1,19})?:(\d{1,10})?:(\d{1,2})?:(\d{8})?:(\d{8})?"
_DAY = "%Y%m%d"


class BadData(ValueError):
    """Callback data that matched the pattern but names nothing real."""


class Pick(StrEnum):
    """Which filter a picker sets."""

    ADMIN = "a"
    RESELLER = "r"
    KIND = "k"
    DATES = "d"


@dataclass(frozen=True)
class Filters:
    """The filters a screen of the log shows; None is "any"."""

    actor: str | None = None  # "cli" or "tg:<id>"
    reseller_id: int | None = None
    kind: str | None = None  # one of admin_log.KINDS
    first: dt.date | None = None
    last: dt.date | None = None  # inclusive

    @property
    def any(self) -> bool:
        return self != Filters()

    def with_actor(self, actor: str | None) -> Filters:
        return replace(self, actor=actor)

    def with_reseller(self, reseller_id: int | None) -> Filters:
        return replace(self, reseller_id=reseller_id)

    def with_kind(self, kind: str | None) -> Filters:
        return replace(self, kind=kind)

    def with_days(self, first: dt.date | None, last: dt.date | None) -> Filters:
        return replace(self, first=first, last=last)

    def query(self, zone: dt.tzinfo) -> LogFilter:
        """The service's filter: the days run from midnight to midnight in ``zone``."""

        def start(day: dt.date | None) -> dt.datetime | None:
            if day is None:
                return None
            return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)

        after_last = self.last + dt.timedelta(days=1) if self.last else None
        return LogFilter(
            self.actor, self.reseller_id, self.kind, start(self.first), start(after_last)
        )

    def encode(self) -> str:
        actor = ""
        if self.actor == CLI:
            actor = "c"
        elif self.actor is not None:
            actor = self.actor.removeprefix("tg:")
        kind = str(admin_log.KINDS.index(self.kind)) if self.kind else ""
        return ":".join(
            (
                actor,
                str(self.reseller_id) if self.reseller_id is not None else "",
                kind,
                self.first.strftime(_DAY) if self.first else "",
                self.last.strftime(_DAY) if self.last else "",
            )
        )

    @classmethod
    def decode(cls, groups: tuple[str | None, ...]) -> Filters:
        actor, reseller, kind, first, last = groups
        try:
            days = [dt.datetime.strptime(d, _DAY).date() if d else None for d in (first, last)]
        except ValueError:
            raise BadData("no such day") from None
        if kind and int(kind) >= len(admin_log.KINDS):
            raise BadData("no such kind")
        if days[0] and days[1] and days[1] < days[0]:
            raise BadData("the days are reversed")
        return cls(
            actor=None if not actor else CLI if actor == "c" else f"tg:{actor}",
            reseller_id=int(reseller) if reseller else None,
            kind=admin_log.KINDS[int(kind)] if kind else None,
            first=days[0],
            last=days[1],
        )


@dataclass(frozen=True)
class LogPage:
    """A page of the log under some filters: ``alg:<page>:<filters>``."""

    def build(self, page: int, filters: Filters) -> str:
        return keyboards.data(LIST_PREFIX, page, filters.encode())

    def pattern(self) -> str:
        return f"^{LIST_PREFIX}:(\\d{{1,6}}):{_FILTERS}$"

    def parse(self, context: BotContext) -> tuple[int, Filters]:
        page, *rest = matched(context).groups()
        return int(page or 0), Filters.decode(tuple(rest))


@dataclass(frozen=True)
class Picker:
    """The choices for one filter, keeping the others: ``alp:<which>:<filters>``."""

    def build(self, which: Pick, filters: Filters) -> str:
        return keyboards.data(PICK_PREFIX, which.value, filters.encode())

    def pattern(self, *which: Pick) -> str:
        """Routes the pickers named (all of them if none is)."""
        picks = "".join(p.value for p in which or tuple(Pick))
        return f"^{PICK_PREFIX}:([{picks}]):{_FILTERS}$"

    def parse(self, context: BotContext) -> tuple[Pick, Filters]:
        which, *rest = matched(context).groups()
        return Pick(str(which)), Filters.decode(tuple(rest))


PAGE = LogPage()
PICK = Picker()
# Any other data under these prefixes: forged or from an older version; refused politely.
STALE = f"^({LIST_PREFIX}|{PICK_PREFIX}):"
