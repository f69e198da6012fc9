"""The summary report's rollup: each finished week's figures, kept so that a report of a long
period reads a few rows per week instead of every case (app.repositories.reports).

A week is rolled once its cases can no longer change but by an update, which the report finds
through ``cases.updated_at`` and rolls again. Nothing here is written by a case's own write.
"""

from datetime import datetime

from sqlalchemy import ARRAY, Boolean, CheckConstraint, DateTime, Double, Integer, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ReportWeek(Base):
    """One rolled week (Monday 00:00 UTC on) of cases and orders: its clocks and volumes."""

    __tablename__ = "report_weeks"

    week: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    # The clock rules the counts were made with (hours, customer-facing types, the rollup's
    # version): a week rolled under other rules is rolled again before it is read.
    basis: Mapped[str] = mapped_column(Text)
    cases: Mapped[int] = mapped_column(Integer)
    payout_disputes: Mapped[int] = mapped_column(Integer)
    acknowledged_in_time: Mapped[int] = mapped_column(Integer)
    acknowledgement_due: Mapped[int] = mapped_column(Integer)
    resolved_in_time: Mapped[int] = mapped_column(Integer)
    resolution_due: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    median_seconds: Mapped[float | None] = mapped_column(Double)
    p90_seconds: Mapped[float | None] = mapped_column(Double)
    orders: Mapped[int] = mapped_column(Integer)


class ReportDuration(Base):
    """A rolled week's resolution times in one bucket of ``BUCKET_SECONDS``, sorted: the
    buckets' sizes find which values a period's percentiles lie between, and only those
    buckets' values are read."""

    __tablename__ = "report_durations"

    week: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    seconds: Mapped[list[float]] = mapped_column(ARRAY(Double))


class ReportTally(Base):
    """How many cases of one group (a list's key: type and outcome, type and reason, ...)
    the rolled weeks hold, as running totals: ``cum[i] - base`` cases in the rolled weeks up
    to and including ``weeks[i]`` (those with cases of the group). A period's count is the
    difference of two totals, so a list over a year reads one row per group, not one per
    group and week. Only differences count: ``base`` lets a roll move either side."""

    __tablename__ = "report_tallies"

    # "C": the roll sorts and joins on these by bytes; the keys are never shown in their order.
    list_name: Mapped[str] = mapped_column("list", Text(collation="C"), primary_key=True)
    # ARRAY[case_type, outcome, reason, vendor_id] as text; the list says which are keys.
    key: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    base: Mapped[int] = mapped_column(Integer)
    weeks: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))
    cum: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class ReportRefresh(Base):
    """One row: every case update from ``watermark`` on may not be in the rolled weeks yet."""

    __tablename__ = "report_refresh"
    __table_args__ = (CheckConstraint("id", name="one_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    watermark: Mapped[datetime] = mapped_column(DateTime(timezone=True))
