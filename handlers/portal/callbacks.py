"""The portal's buttons: one codec per family builds their data and the pattern that
routes a tap back.

Customer data is ``pt:<family>[:<subscription id>[:value]]``. The id says which of the
chat's subscriptions the screen is about; the handler takes it only together with the
chat that tapped, so another customer's id in a forged button finds nothing.
Reseller data is ``pc:<family>:<request id>[:reason]`` and ``pp[:<reseller id>[:days]]``,
checked against the one who taps the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot import keyboards
from bot.context import BotContext

_ID = r"(\d{1,12})"
_WORD = r"([a-z_]{1,16})"


@dataclass(frozen=True)
class Codec:
    """``<prefix>:<family>`` then the values, each an id (digits) or a word (a code)."""

    prefix: str
    family: str
    values: tuple[str, ...] = ()

    def build(self, *values: int | str) -> str:
        assert len(values) == len(self.values), (self.family, values)
        return keyboards.data(self.prefix, self.family, *values)

    def pattern(self) -> str:
        tail = "".join(f":{v}" for v in self.values)
        return f"^{self.prefix}:{self.family}{tail}$"

    def parse(self, context: BotContext) -> tuple[str, ...]:
        assert context.matches, "only for handlers registered with this codec's pattern"
        return context.matches[0].groups()

    def first_id(self, context: BotContext) -> int:
        return int(self.parse(context)[0])


def _customer(family: str, *values: str) -> Codec:
    return Codec("pt", family, (_ID, *values))


HOME = _customer("h")  # the portal's home for one subscription
LIST = Codec("pt", "l")  # the chat's subscriptions, to switch between them
SUBSCRIPTION = _customer("s")  # plan, state, expiry, the panel's live state
ACCESS = _customer("q")  # the subscription link or credentials again, and the QR code
PAYMENTS = _customer("p", _ID)  # activations and renewals, a page at a time
RENEWAL = _customer("rr")  # ask the reseller to renew
PAUSE = _customer("ps")  # how long to pause, within the allowance
PAUSE_FOR = _customer("pd", _ID)  # pause for so many days
RESUME = _customer("rs")
CANCEL = _customer("cx")  # cancelling: the reasons
CANCEL_REASON = _customer("cr", _WORD)
CANCEL_CONFIRM = _customer("cy")
CANCEL_KEEP = Codec("pt", "cn")  # keep it: leave the cancelling
CHANGE = _customer("ch")  # the plans one may change to
CHANGE_TO = _customer("cp", _ID)  # that plan: paid in Stars, or asked of the reseller
CHANGE_PAY = _customer("cs", _ID)  # the invoice for changing to that plan, in Stars
UNLINK = _customer("u")  # "this is not me": the question, then its confirmation
UNLINK_CONFIRM = _customer("uy")

# The reseller's answer to a change request. Approve carries the price it showed (a sale
# at any other is refused and quoted again); ``ok``, without it, is an older notice's.
CHANGE_APPROVE_AT = Codec("pc", "oa", (_ID, _ID))
CHANGE_APPROVE = Codec("pc", "ok", (_ID,))
CHANGE_DECLINE = Codec("pc", "no", (_ID,))  # the reasons
CHANGE_DECLINE_REASON = Codec("pc", "nr", (_ID, _WORD))
CHANGE_DECLINE_OTHER = Codec("pc", "nt", (_ID,))  # type the reason (a flow)

# How many days a year a reseller's customers may pause: the reseller's own (no id), or
# an admin's look at one reseller's; then the choice.
POLICY_OWN = Codec("pp", "me")
POLICY = Codec("pp", "r", (_ID,))
POLICY_SET = Codec("pp", "s", (_ID, _ID))
