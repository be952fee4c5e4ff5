"""The Stars buttons' callback data: one codec per family builds it and parses it.

Data only says which button was tapped (``st:rf:42``); who tapped it, and whether they
may, is always looked up on the server.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext


@dataclass(frozen=True)
class Plain:
    """``<data>``: a button with no value."""

    data: str

    def build(self) -> str:
        return self.data

    def pattern(self) -> str:
        return rf"^{self.data}$"


@dataclass(frozen=True)
class ByPayment:
    """``<prefix>:<payment id>`` (or another row's id)."""

    prefix: str

    def build(self, payment_id: int) -> str:
        return keyboards.data(self.prefix, payment_id)

    def pattern(self) -> str:
        return rf"^{self.prefix}:(\d{{1,12}})$"

    def parse(self, context: BotContext) -> int:
        assert context.matches, "only for handlers registered with this codec's pattern"
        return int(context.matches[0].group(1))


@dataclass(frozen=True)
class Confirmed:
    """``<prefix>:<payment id>:<nonce>``: a confirmation screen's button."""

    prefix: str

    def build(self, payment_id: int, nonce: str) -> str:
        return keyboards.data(self.prefix, payment_id, nonce)

    def pattern(self) -> str:
        return rf"^{self.prefix}:(\d{{1,12}}):([\w-]{{1,16}})$"

    def parse(self, context: BotContext) -> tuple[int, str]:
        assert context.matches, "only for handlers registered with this codec's pattern"
        found = context.matches[0]
        return int(found.group(1)), found.group(2)


CANCEL_INVOICE = ByPayment("st:x")  # the reseller withdraws an unpaid invoice
REFUND = ByPayment("st:rf")  # an admin starts a refund (asks for the reason)
REFUND_CONFIRM = Confirmed("st:ok")  # ... and confirms it
REFUND_CANCEL = ByPayment("st:no")  # ... or leaves it
REFUND_RETRY = ByPayment("st:ra")  # a refund left pending: Telegram asked again now

# A reseller's self-service renewals: the screen, on/off, a plan's price (asks for it).
SELF_PAY = Plain(keyboards.SELF_PAY)
SELF_PAY_ON = Plain("sp:on")
SELF_PAY_OFF = Plain("sp:off")
SELF_PAY_PRICE = ByPayment("sp:p")  # the plan's id

# An admin's Stars rate and bounds (on the catalogue's card of a Stars method).
STARS_RATE = ByPayment("st:rate")  # the method's id
STARS_RATE_CONFIRM = Confirmed("st:rok")
STARS_RATE_CANCEL = ByPayment("st:rno")

# A discount code entered at an open invoice (a top-up's or a customer renewal's).
CODE = ByPayment("st:code")
CODE_CANCEL = ByPayment("st:cx")
