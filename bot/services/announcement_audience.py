"""Who an announcement reaches: its audience and segment as one query of chat ids.

A reseller's announcement is always narrowed to that reseller's own customers, whatever
segment its draft names; an admin's may reach resellers, or customers by segment. Chats
that blocked the bot are left out, and so are customers who opted out of promotions,
unless the announcement is a service notice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.i18n import DEFAULT_LANGUAGE, LANGUAGES
from models import (
    ChatLanguage,
    Customer,
    CustomerStatus,
    Plan,
    Reseller,
    ResellerStatus,
    UnreachableChat,
)

MAX_DAYS = 365  # "expiring within" / "expired within": at most a year


class Audience(StrEnum):
    CUSTOMERS = "customers"
    RESELLERS = "resellers"


class Segment(StrEnum):
    EVERYONE = "all"
    RESELLER = "reseller"  # the value: the reseller's id
    PLAN = "plan"  # the plan's id
    PANEL = "panel"  # the panel's id
    EXPIRING = "expiring"  # within the value's days from now
    EXPIRED = "expired"  # within the value's days before now
    LANGUAGE = "language"  # the language's code


class AudienceError(Exception):
    """The audience asked for is refused. ``code`` says why, for the views to word."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Author:
    """Who writes: an admin (``reseller_id`` None) or a reseller, for their customers."""

    telegram_id: int
    reseller_id: int | None = None

    @property
    def is_reseller(self) -> bool:
        return self.reseller_id is not None


@dataclass(frozen=True)
class Target:
    audience: Audience
    segment: Segment = Segment.EVERYONE
    value: str | None = None
    service: bool = False  # also reaches customers who opted out of promotions


def _number(value: str | None, code: str, maximum: int = 2**31 - 1) -> int:
    if value is None or not value.isdecimal() or not 0 < int(value) <= maximum:
        raise AudienceError(f"bad segment value {value!r}", code)
    return int(value)


def check(author: Author, target: Target) -> Target:
    """The target if ``author`` may reach it and its value fits its segment."""
    if target.audience == Audience.RESELLERS:
        if author.is_reseller:
            raise AudienceError("resellers announce to their customers only", "admins_only")
        if target.segment not in (Segment.EVERYONE, Segment.LANGUAGE):
            raise AudienceError("resellers are reached all or by language", "bad_segment")
    if target.segment == Segment.RESELLER:
        reseller_id = _number(target.value, "bad_segment")
        if author.is_reseller and reseller_id != author.reseller_id:
            raise AudienceError("another reseller's customers", "not_your_customers")
    elif target.segment in (Segment.PLAN, Segment.PANEL):
        _number(target.value, "bad_segment")
    elif target.segment in (Segment.EXPIRING, Segment.EXPIRED):
        _number(target.value, "bad_days", MAX_DAYS)
    elif target.segment == Segment.LANGUAGE and target.value not in LANGUAGES:
        raise AudienceError(f"unknown language {target.value!r}", "bad_segment")
    return target


def _language(chat_id: Any, language: str) -> ColumnElement[bool]:
    if language == DEFAULT_LANGUAGE:  # a chat with no language stored reads the default
        return ~exists().where(ChatLanguage.chat_id == chat_id, ChatLanguage.language != language)
    return exists().where(ChatLanguage.chat_id == chat_id, ChatLanguage.language == language)


def _reachable(chat_id: Any) -> ColumnElement[bool]:
    return ~exists().where(UnreachableChat.chat_id == chat_id)


def recipients(author: Author, target: Target, now: dt.datetime) -> Select[Any]:
    """The distinct chat ids ``target`` reaches, in a stable order. ``check`` it first."""
    if target.audience == Audience.RESELLERS:
        resellers: Select[Any] = select(Reseller.telegram_id.label("chat_id")).where(
            Reseller.status == ResellerStatus.ACTIVE, _reachable(Reseller.telegram_id)
        )
        if target.segment == Segment.LANGUAGE and target.value:
            resellers = resellers.where(_language(Reseller.telegram_id, target.value))
        return resellers.distinct().order_by(Reseller.telegram_id)
    chat = Customer.chat_id
    query: Select[Any] = select(chat.label("chat_id")).where(
        chat.is_not(None),
        Customer.status != CustomerStatus.CANCELLED,
        _reachable(chat),
    )
    if author.reseller_id is not None:
        query = query.where(Customer.reseller_id == author.reseller_id)
    if not target.service:
        query = query.where(Customer.promotions_opt_out.is_(False))
    value = target.value or ""
    if target.segment == Segment.RESELLER:
        query = query.where(Customer.reseller_id == int(value))
    elif target.segment == Segment.PLAN:
        query = query.where(Customer.plan_id == int(value))
    elif target.segment == Segment.PANEL:
        on_panel = select(Plan.id).where(Plan.panel_id == int(value))
        query = query.where(Customer.plan_id.in_(on_panel))
    elif target.segment == Segment.EXPIRING:
        query = query.where(
            Customer.status == CustomerStatus.ACTIVE,
            Customer.expires_at >= now,
            Customer.expires_at <= now + dt.timedelta(days=int(value)),
        )
    elif target.segment == Segment.EXPIRED:
        query = query.where(
            Customer.expires_at < now,
            Customer.expires_at >= now - dt.timedelta(days=int(value)),
        )
    elif target.segment == Segment.LANGUAGE:
        query = query.where(_language(chat, value))
    return query.distinct().order_by(chat)


async def count(session: AsyncSession, author: Author, target: Target, now: dt.datetime) -> int:
    found = recipients(author, target, now).order_by(None).subquery()
    return int(await session.scalar(select(func.count()).select_from(found)) or 0)
