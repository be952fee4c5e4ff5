"""A parent moves credits to its sub-reseller, or takes them back: the admin's add / remove
form's fields and rules (``bot.services.credits``), with the parent's balance in place of
the issuance account.

- Add moves credits from the parent's *available* balance to the child; a postpaid
  parent may give only what it has above zero (its collection limit is its own risk, not
  the child's).
- Remove moves credits back from the child's available balance.

Credits keep their expiry both ways (``ledger.move(keep_expiry=True)``), so moving them
down and back never lengthens their life. Add takes the parent's soonest-expiring free
credits and gives the child one grant per expiry they had; an expiry the parent chooses
can only shorten that: each part expires at the sooner of the two (none chosen: as it
would have with the parent). The summary says which part expires sooner than the chosen
day (``sooner``). Remove gives the parent the child's soonest-expiring free credits,
expiring when they would have with the child.

Both are one ledger movement (``EntryKind.ALLOCATION``) and a ``CreditTransfer`` row in the
same transaction, keyed by the nonce of the summary the parent saw, so a repeated Save
moves nothing; the child is told through the outbox.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import Database
from bot.services import admin_log, credits, downline, grants, ledger
from bot.services.alerts import Kind
from bot.services.credits import Action
from bot.services.downline import DownlineError, require_child
from bot.services.outbox import Outgoing, enqueue
from bot.services.resellers import ResellerView
from models import (
    CreditTransfer,
    EntryKind,
    ResellerStatus,
    Transfer,
    TransferKind,
    TxType,
)

KEY_PREFIX = "alloc:"


@dataclass(frozen=True)
class Balances:
    """Both sides, as a summary or a saved movement shows them."""

    parent: ResellerView
    child: ResellerView
    parent_balance: ledger.Balance
    child_balance: ledger.Balance

    @property
    def can_give(self) -> int:
        """The most the parent may add: what it has available above zero."""
        return max(0, self.parent_balance.available)

    @property
    def can_take(self) -> int:
        """The most the parent may remove: what the child has available above zero."""
        return max(0, self.child_balance.available)


@dataclass(frozen=True)
class Allocation:
    before: Balances
    after: Balances
    amount: int
    action: Action
    transfer_id: int
    replayed: bool


def key(parent_telegram_id: int, nonce: str) -> str:
    """The movement's idempotency key: the parent and the summary's nonce."""
    return f"{KEY_PREFIX}{parent_telegram_id}:{nonce}"


async def _balances(session: AsyncSession, parent: ResellerView, child: ResellerView) -> Balances:
    return Balances(
        parent,
        child,
        await ledger.balance(session, parent.account_id),
        await ledger.balance(session, child.account_id),
    )


async def balances(db: Database, parent_telegram_id: int, child_telegram_id: int) -> Balances:
    """Both balances, for the form's steps and its summary (the child must be the parent's)."""
    async with db.transaction() as session:
        parent, child = await require_child(
            session, parent_telegram_id, child_telegram_id, direct=True
        )
        return await _balances(session, parent, child)


async def sooner(
    db: Database,
    parent_telegram_id: int,
    child_telegram_id: int,
    amount: int,
    expires_at: dt.datetime | None,
) -> list[grants.Part]:
    """The parts of an addition of ``amount`` that would expire before ``expires_at``
    (None: every part that expires), soonest first: they keep the parent's expiry."""
    async with db.transaction() as session:
        parent, _ = await require_child(session, parent_telegram_id, child_telegram_id, direct=True)
        parts = await grants.free_parts(session, parent.account_id, amount)
    return [
        p
        for p in parts
        if p.expires_at is not None and (expires_at is None or p.expires_at < expires_at)
    ]


def check(action: Action, amount: int, now: Balances) -> None:
    """Refuse what the balances cannot cover: a shortfall, or the most that can be removed."""
    if action == Action.ADD and amount > now.can_give:
        raise DownlineError(
            "parent_short",
            f"you have {now.can_give} available; {amount - now.can_give} more is needed",
            missing=amount - now.can_give,
            available=now.can_give,
        )
    if action == Action.REMOVE and amount > now.can_take:
        raise DownlineError(
            "remove_too_much", f"at most {now.can_take} can be removed", maximum=now.can_take
        )


async def save(
    db: Database,
    *,
    parent_telegram_id: int,
    child_telegram_id: int,
    action: Action,
    amount: int,
    tx_type: TxType,
    nonce: str,
    now: dt.datetime,
    comment: str | None = None,
    expires_at: dt.datetime | None = None,
) -> Allocation:
    """Move the credits once per ``nonce``; a repeat returns the first movement."""
    comment = credits.check_comment(comment)
    if action == Action.REMOVE and expires_at is not None:
        raise DownlineError("expiry_on_remove", "only added credits can expire")
    if expires_at is not None and expires_at <= now:
        raise DownlineError("date_in_past", "the expiry is in the past")
    if amount <= 0:
        raise DownlineError("bad_amount", "the amount must be above zero")
    idem = key(parent_telegram_id, nonce)

    async def _save(session: AsyncSession) -> Allocation:
        parent, child = await require_child(
            session, parent_telegram_id, child_telegram_id, direct=True
        )
        await ledger.lock_accounts(session, parent.account_id, child.account_id)
        before = await _balances(session, parent, child)
        done = await session.scalar(select(Transfer.id).where(Transfer.idempotency_key == idem))
        if done is None:
            # Suspension stops a whole subtree: no moving credits beneath a suspended one.
            if parent.status != ResellerStatus.ACTIVE or await downline.upline_suspended(
                session, parent.id
            ):
                raise DownlineError("suspended", "a suspended reseller cannot move credits")
            check(action, amount, before)
        adding = action == Action.ADD
        src, dst = (parent, child) if adding else (child, parent)
        movement = await ledger.move(
            session,
            src=src.account_id,
            dst=dst.account_id,
            amount=amount,
            kind=EntryKind.ALLOCATION,
            tx_type=tx_type,
            actor=f"tg:{parent_telegram_id}",
            key=idem,
            comment=comment,
            related=f"reseller:{child.id}",
            expires_at=expires_at if adding else None,
            keep_expiry=True,
        )
        after = await _balances(session, parent, child)
        if not movement.replayed:
            session.add(
                CreditTransfer(
                    kind=TransferKind.ALLOCATE if adding else TransferKind.RECLAIM,
                    from_reseller_id=src.id,
                    to_reseller_id=dst.id,
                    amount=amount,
                    tx_type=tx_type,
                    comment=comment,
                    expires_at=expires_at if adding else None,
                    actor_telegram_id=parent_telegram_id,
                    ledger_transfer_id=movement.transfer_id,
                    created_at=now,
                )
            )
            await _record(session, action, before, after, amount, tx_type, comment, now)
            given = expires_at if adding else None
            await _tell(session, action, after, amount, movement.transfer_id, comment, given, now)
        return Allocation(
            before, after, amount, action, movement.transfer_id, replayed=movement.replayed
        )

    return await db.run(_save)


async def _record(
    session: AsyncSession,
    action: Action,
    before: Balances,
    after: Balances,
    amount: int,
    tx_type: TxType,
    comment: str | None,
    now: dt.datetime,
) -> None:
    await admin_log.record(
        session,
        actor=f"tg:{after.parent.telegram_id}",
        action="credits_allocated" if action == Action.ADD else "credits_reclaimed",
        now=now,
        reseller_id=after.child.id,
        reason=comment,
        before={
            "balance": before.child_balance.balance,
            "parent_balance": before.parent_balance.balance,
        },
        after={
            "balance": after.child_balance.balance,
            "parent_balance": after.parent_balance.balance,
            "amount": amount,
            "tx_type": tx_type.value,
            "parent": after.parent.telegram_id,
        },
    )


async def _tell(
    session: AsyncSession,
    action: Action,
    after: Balances,
    amount: int,
    transfer_id: int,
    comment: str | None,
    expires_at: dt.datetime | None,
    now: dt.datetime,
) -> None:
    """The child's notice, queued with the movement; an addition's says which of the
    credits expire when."""
    parts = await grants.expiring_parts(session, transfer_id) if action == Action.ADD else []
    payload: dict[str, object] = {
        "parent": after.parent.name,
        "amount": amount,
        "balance": after.child_balance.balance,
        "available": after.child_balance.available,
        "comment": comment,
        "expires_at": expires_at.isoformat() if expires_at else None,
        # [when (ISO), amount] of the credits moved that expire, soonest first.
        "expiring": [[p.expires_at.isoformat(), p.amount] for p in parts if p.expires_at],
    }
    kind = Kind.CREDIT_ALLOCATED if action == Action.ADD else Kind.CREDIT_RECLAIMED
    await enqueue(
        session,
        [Outgoing(f"allocation:{transfer_id}", after.child.telegram_id, kind, payload)],
        now,
    )


async def moved(db: Database, parent_telegram_id: int, nonce: str) -> bool:
    """Whether the summary with this nonce was already saved."""
    async with db.transaction() as session:
        found = await session.scalar(
            select(Transfer.id).where(Transfer.idempotency_key == key(parent_telegram_id, nonce))
        )
        return found is not None
