"""Provisioning: the outside system that creates and extends subscriptions.

The bot holds the reseller's credit, asks the provider to act, then posts the hold on
success or voids it on failure, so money and subscriptions move together or not at all.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

# The key under which a provider's details carry the customer's subscription link.
SUBSCRIPTION_URL = "subscription_url"


class ProvisioningError(Exception):
    """The provider could not do it; nothing was provisioned. ``code`` and ``params`` say
    why for the views; the message is English, for logs and the CLI."""

    def __init__(
        self, message: str = "", code: str = "provider_refused", **params: str | int
    ) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class PanelDown(ProvisioningError):
    """The panel failed repeatedly (its circuit is open): refused before anything moved."""

    def __init__(self, panel: str) -> None:
        super().__init__(f"panel {panel} is not answering", "panel_down", panel=panel)
        self.panel = panel


class OutcomeUnknown(Exception):
    """No usable answer (timeout, lost connection, 5xx): the provider may have acted.

    ``answered`` says the panel itself answered (an error page), so the request is over
    and asking the panel now tells the outcome; otherwise it may still be in flight.
    """

    code = "panel_no_answer"

    def __init__(
        self, panel: str, reason: str, *, answered: bool = False, status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.panel = panel
        self.answered = answered
        self.params: dict[str, str | int] = {"panel": panel}
        if status is not None:
            self.params["status"] = status


@dataclass(frozen=True)
class CreateSubscription:
    username: str
    plan_code: str
    expires_at: dt.datetime
    # Derived from the order; a panel keeps it with the user so a repeat is recognised.
    reference: str = ""
    data_limit_bytes: int | None = None
    template: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ExtendSubscription:
    username: str
    external_id: str | None
    plan_code: str
    expires_at: dt.datetime
    reset_traffic: bool = False


@dataclass(frozen=True)
class Provisioned:
    external_id: str
    # Anything to show the reseller: credentials, playlist or config links.
    details: dict[str, str] = field(default_factory=dict)


class Provider(Protocol):
    """What a panel integration implements. Suspend and delete will join create and extend."""

    async def create(self, request: CreateSubscription) -> Provisioned: ...

    async def extend(self, request: ExtendSubscription) -> Provisioned: ...


class LocalProvider:
    """The default: the subscription lives in this database only; the bot is the record."""

    async def create(self, request: CreateSubscription) -> Provisioned:
        return Provisioned(external_id=f"local-{uuid.uuid4().hex[:12]}")

    async def extend(self, request: ExtendSubscription) -> Provisioned:
        return Provisioned(external_id=request.external_id or f"local-{uuid.uuid4().hex[:12]}")


PROVIDERS: dict[str, type[LocalProvider]] = {"local": LocalProvider}


def provider_named(name: str) -> Provider:
    try:
        return PROVIDERS[name]()
    except KeyError:
        raise ValueError(
            f"unknown provisioning provider {name!r}; known: {', '.join(sorted(PROVIDERS))}"
        ) from None
