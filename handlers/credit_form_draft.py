"""The add / remove credit form's draft and buttons, shared by an admin's form (for any
reseller) and a parent's (for its sub-reseller): the answers as plain values, and the
codecs each form takes from its own callbacks module."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from bot.context import BotContext
from bot.services.credits import Action
from handlers import flow
from handlers.calendar import Calendar
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
