"""What the customer portal keeps: pauses of a subscription and requests to change plan."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class CustomerPause(Base):
    """One pause of a subscription: its days are frozen from ``started_at`` and given back
    on resume. Open while ``resumed_at`` is NULL; ``until`` is when it resumes by itself.
    The pauses of the last year are what a reseller's allowance is counted against."""

    __tablename__ = "customer_pauses"
    __table_args__ = (
        CheckConstraint("until > started_at", name="until_after_start"),
        Index("ix_customer_pauses_customer", "customer_id", "started_at"),
        Index("ix_customer_pauses_open", "resumed_at", "until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    until: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    resumed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class ChangeStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DECLINED = "declined"


class PlanChangeRequest(Base):
    """A customer asks their reseller to move them to another plan; the reseller approves
    (a sale on the new plan) or declines with a reason. One pending per customer."""

    __tablename__ = "plan_change_requests"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'approved', 'declined')", name="status"),
        Index("ix_plan_change_requests_customer", "customer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    from_plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    status: Mapped[str] = mapped_column(String(16), default=ChangeStatus.PENDING)
    reason: Mapped[str | None] = mapped_column(String(255))
    # The reseller's own words when declining for another reason (``reason`` is "other").
    note: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
