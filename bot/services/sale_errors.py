"""Why a sale was refused or is not finished: each a ``CustomerError`` with a code, for
the presentation to word in the reader's language."""

from __future__ import annotations

from bot.services.customers import CustomerError

IN_DOUBT = (
    "The panel did not answer, so it is not known yet whether {username} was provisioned. "
    "The price is held, not charged; the bot checks with the panel and tells you the outcome."
)


class PlanUnavailable(CustomerError):
    code = "plan_unavailable"


class PriceChanged(CustomerError):
    """The plan's price is not the one on the confirmation screen: nothing was held."""

    code = "price_changed"


class SaleFailed(CustomerError):
    """Provisioning failed; the held credit was released and nothing was charged."""

    code = "sale_failed"


class SaleInProgress(CustomerError):
    code = "sale_in_progress"


# SaleInProgress's code when another sale of the customer is pending: this one was not
# started (nothing held, no order), unlike the same key's sale still running.
ANOTHER_SALE = "renewal_in_progress"


class CustomerCancelled(CustomerError):
    """The customer cancelled the subscription: a sale that must not revive it (a change
    of package) is refused, and nothing is held."""

    code = "customer_cancelled"


class PlanChanged(CustomerError):
    """The customer is on another plan now: a renewal of the plan it left (a Stars
    subscription's charge) would move it back, so it is refused, and nothing is held."""

    code = "plan_changed"


class AlreadyOnPlan(CustomerError):
    """A change of package to the plan the customer is on already: made by an earlier
    payment (two paid on two devices at once, say), so this sale would renew it a second
    time. Refused, and nothing is held."""

    code = "already_on_plan"


ALREADY_ON_PLAN = AlreadyOnPlan.code


class SaleInDoubt(CustomerError):
    """The panel did not answer: the credit stays held (not charged) until reconciliation
    asks the panel and settles the order, and tells the reseller."""

    code = "sale_in_doubt"
