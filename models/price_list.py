from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class PriceList(Base):
    """Named prices for the resellers put on it ("Standard", "Gold -10%").

    A plan costs the list's entry for it when there is one, else the plan's base price
    less the list's ``percent_off``. ``owner_id`` NULL: the business's list, managed by
    admins; a reseller's id: a list that parent made for its own sub-resellers.
    """

    __tablename__ = "price_lists"
    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_price_lists_owner_name"),
        CheckConstraint("percent_off >= 0 AND percent_off < 10000", name="percent_off"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("resellers.id"))
    # Hundredths of a percent: 1000 is 10.00 % off every plan without an entry.
    percent_off: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class PriceListEntry(Base):
    """One plan's price on a list: a fixed price, or a percentage off the base price."""

    __tablename__ = "price_list_entries"
    __table_args__ = (
        UniqueConstraint("price_list_id", "plan_id", name="uq_price_list_entries_list_plan"),
        CheckConstraint("(price IS NULL) <> (percent_off IS NULL)", name="price_or_percent"),
        CheckConstraint("price IS NULL OR price > 0", name="price_positive"),
        CheckConstraint(
            "percent_off IS NULL OR (percent_off >= 0 AND percent_off < 10000)", name="percent_off"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    price_list_id: Mapped[int] = mapped_column(ForeignKey("price_lists.id", ondelete="CASCADE"))
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    # Hundredths of a credit.
    price: Mapped[int | None] = mapped_column(BigInteger)
    # Hundredths of a percent off the plan's base price.
    percent_off: Mapped[int | None] = mapped_column(Integer)
