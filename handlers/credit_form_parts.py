"""The parts of the add / remove credit form (``handlers.credit_form``) that each of its
two forms, an admin's (for any reseller) and a parent's (for its sub-reseller), gives or
fills in: the draft (the answers as plain values), the codecs from the form's own
callbacks module, its states, and what it says for itself (``Side``)."""

from __future__ import annotations

import abc
import datetime as dt
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from telegram import Update

from bot.context import BotContext
from bot.services.credits import Action
from handlers import flow
from handlers.calendar import Calendar
from handlers.reader import Asker, Reader
from models import TxType


@dataclass
class FormDraft(flow.FlowMessage):
    """The answers so far, as plain values; names and balances are read again at every step."""

    telegram_id: int = 0  # whose credits the form moves
    action: Action | None = None
    tx_type: TxType | None = None
    amount: int | None = None  # hundredths
    comment: str | None = None
    expires_on: str | None = None  # the last day the credits can be used, yyyy-mm-dd
    nonce: str = ""  # minted with the summary; the movement is keyed by it

    @property
    def last_day(self) -> dt.date | None:
        return dt.date.fromisoformat(self.expires_on) if self.expires_on else None


class ByOne(Protocol):
    """A button naming the reseller the form is for."""

    def build(self, telegram_id: int, /) -> str: ...
    def pattern(self) -> str: ...
    def parse(self, context: BotContext) -> int: ...


class ActionChoice(Protocol):
    """Add or remove, naming the reseller."""

    def build(self, telegram_id: int, action: Action, /) -> str: ...
    def pattern(self) -> str: ...
    def parse(self, context: BotContext) -> tuple[int, str]: ...


class TypeChoice(Protocol):
    """Purchase or adjustment, naming the reseller."""

    def build(self, telegram_id: int, tx_type: TxType, /) -> str: ...
    def pattern(self) -> str: ...
    def parse(self, context: BotContext) -> tuple[int, str]: ...


class Keyed(Protocol):
    """Save: the reseller and the summary's nonce."""

    def build(self, telegram_id: int, nonce: str, /) -> str: ...
    def pattern(self) -> str: ...
    def parse(self, context: BotContext) -> tuple[int, str]: ...


@dataclass(frozen=True)
class FormButtons:
    """One form's codecs, each from its feature's callbacks module."""

    open: ByOne  # on the card: opens the form
    card: ByOne  # Cancel: back to the card
    action: ActionChoice
    type: TypeChoice
    skip: ByOne  # no comment, or no expiry
    save: Keyed
    calendar: Calendar


@dataclass(frozen=True)
class Steps:
    """The form's states, by name (each form has its own, for the one shared conversation)."""

    action: str
    type: str
    amount: str
    comment: str
    expiry: str
    confirm: str

    @classmethod
    def named(cls, name: str) -> Steps:
        """``<name>:action`` and so on: a form's states, named after it."""
        steps = ("action", "type", "amount", "comment", "expiry", "confirm")
        return cls(*(f"{name}:{step}" for step in steps))


class Again(Exception):
    """Save was refused in a way the form can mend: show ``step`` with ``problem``."""

    def __init__(self, step: str, problem: str, *, forget_amount: bool = False) -> None:
        super().__init__(step)
        self.step, self.problem, self.forget_amount = step, problem, forget_amount


class Refused(Exception):
    """Save was refused for good: the asker is told ``text`` and the form ends."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


D = TypeVar("D", bound=FormDraft)
B = TypeVar("B")  # what a form reads at every step: who, and the balances its screens show


class Side(abc.ABC, Generic[D, B]):
    """What each form says for itself: who may, what it reads, how it moves the credits."""

    def __init__(
        self, name: str, draft_key: str, draft_type: type[D], buttons: FormButtons
    ) -> None:
        """``name``: the form's, which names its states (``Steps.named``)."""
        self.name, self.draft_key, self.draft_type = name, draft_key, draft_type
        self.steps, self.buttons = Steps.named(name), buttons

    @abc.abstractmethod
    async def asker(self, update: Update, context: BotContext) -> Asker | None:
        """The asker, if allowed; otherwise they are told no and None is returned."""

    @abc.abstractmethod
    async def read(self, update: Update, context: BotContext, asker: Asker, draft: D) -> B | None:
        """Who the form is for and the balances, read again; None once the asker is told no."""

    @abc.abstractmethod
    def heading(self, seen: B, r: Reader) -> list[str]:
        """The lines above every step: who the form is for (not editable)."""

    @abc.abstractmethod
    def bound(self, seen: B, draft: D, r: Reader) -> str:
        """The line under the amount's question on the most that can be moved ("" for none)."""

    @abc.abstractmethod
    async def body(self, context: BotContext, asker: Asker, seen: B, draft: D) -> list[str]:
        """The summary's lines: the balances before and after."""

    @abc.abstractmethod
    async def check(self, context: BotContext, asker: Asker, draft: D, amount: int) -> str:
        """What is wrong with ``amount`` now ("" if nothing)."""

    @abc.abstractmethod
    async def move(
        self,
        context: BotContext,
        asker: Asker,
        draft: D,
        nonce: str,
        moment: dt.datetime,
        expires_at: dt.datetime | None,
    ) -> str:
        """Move the credits, keyed by ``nonce``; the note under the card. Raises ``Again``
        or ``Refused`` (and ``ActionError`` for an expiry that went by)."""

    @abc.abstractmethod
    async def moved(self, context: BotContext, asker: Asker, nonce: str) -> bool:
        """Whether the movement keyed by ``nonce`` was saved."""

    @abc.abstractmethod
    async def show_card(
        self, update: Update, context: BotContext, telegram_id: int, r: Reader, note: str = ""
    ) -> None:
        """The card of the reseller the form is for."""
