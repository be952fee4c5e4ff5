"""The texts of a parent's add / remove credit form for its sub-reseller that are its own
(the rest are the admin's, ``handlers.credit_form_views``): the most it can move, both
balances in the summary, and the note once saved."""

from __future__ import annotations

from bot.services.allocation import Allocation, Balances
from bot.services.credits import Action
from bot.services.grants import Part
from handlers import credit_form_views as form_views
from handlers.downline.drafts import AllocationDraft
from handlers.downline.views import usable_until
from handlers.reader import Reader


def bound(b: Balances, d: AllocationDraft, r: Reader) -> str:
    """The most that can be moved: the parent's available, or the child's."""
    if d.action == Action.REMOVE:
        return form_views.at_most_removed(b.can_take, r)
    return r.t._("You have {amount} available to give.", amount=r.money(b.can_give))


def both(b: Balances, d: AllocationDraft, r: Reader, sooner: list[Part]) -> list[str]:
    """What Save will do to both balances, and what is available, before and after; for an
    addition, the parts of it that keep an expiry sooner than the one chosen (``sooner``)."""
    t, signed = r.t, form_views.signed(d)
    lines = [
        t._("<b>You</b>"),
        *form_views.before_after(b.parent_balance, -signed, r),
        f"<b>{r.name(b.child.name)}</b>",
        *form_views.before_after(b.child_balance, signed, r),
    ]
    if sooner:
        if d.last_day is None:
            rule = t._("Your credits keep their expiry: for them these expire as for you.")
        else:
            rule = t._(
                "Your credits keep their expiry: a part that expires sooner than the day you "
                "chose expires then for them too."
            )
        parts = [usable_until(r, p.expires_at, p.amount) for p in sooner if p.expires_at]
        lines += ["", rule, *parts]
    return lines


def saved(done: Allocation, r: Reader) -> str:
    """The note under the sub-reseller's card once saved."""
    t, amount = r.t, r.money(done.amount)
    values = {
        "amount": amount,
        "before": r.money(done.before.parent_balance.balance),
        "after": r.money(done.after.parent_balance.balance),
    }
    if done.action == Action.ADD:
        return t._(
            "✅ Gave {amount}. Your balance: {before} → {after}. They have been told.", **values
        )
    return t._(
        "✅ Took back {amount}. Your balance: {before} → {after}. They have been told.", **values
    )
