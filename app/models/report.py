"""The summary report's rollup: each finished span's figures (a span is the part of a week in
one month, app.reports.periods), kept so that a report of a long period reads a few rows per
span instead of every case.

A span is rolled once its cases can no longer change but by an update, which the report finds
through ``cases.updated_at`` and rolls again. Nothing here is written by a case's own write.
"""

from datetime import datetime

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Double,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base


class ReportSpan(Base):
    """One rolled span: that it is rolled, under which rules, and its orders."""

    __tablename__ = "report_spans"

    span: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    span_end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The clock rules the counts were made with (hours, customer-facing types, the rollup's
    # version): a span rolled under other rules is rolled again before it is read.
    basis: Mapped[str] = mapped_column(Text)
    orders: Mapped[int] = mapped_column(Integer)
    # Of those orders, the ones with a payout dispute or payment discrepancy (at any time).
    disputed_orders: Mapped[int] = mapped_column(Integer)


class ReportSpanClocks(Base):
    """A rolled span's cases of one type: counts, and sums of durations in microseconds."""

    __tablename__ = "report_span_clocks"

    span: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    case_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    cases: Mapped[int] = mapped_column(Integer)
    acknowledged_in_time: Mapped[int] = mapped_column(Integer)
    acknowledgement_due: Mapped[int] = mapped_column(Integer)
    resolved_in_time: Mapped[int] = mapped_column(Integer)
    resolution_due: Mapped[int] = mapped_column(Integer)
    resolved: Mapped[int] = mapped_column(Integer)
    resolution_us: Mapped[int] = mapped_column(BigInteger)
    # Cases opened from payment records, and how long after the record each was opened.
    logged: Mapped[int] = mapped_column(Integer)
    logged_in_time: Mapped[int] = mapped_column(Integer)
    logging_us: Mapped[int] = mapped_column(BigInteger)


class ReportDuration(Base):
    """A rolled span's durations of one kind (resolution, logging) in one histogram bucket
    (app.reports.measures.histogram_bucket), sorted: the buckets' sizes ``n`` find which
    values a period's percentiles lie between, and only those buckets' values are read."""

    __tablename__ = "report_durations"

    span: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[list[float]] = mapped_column(ARRAY(Double))


class ReportTally(Base):
    """How many cases of one group (a list's key: type and outcome, type and reason, ...)
    the rolled spans hold, as running totals: ``cum[i] - base`` cases in the rolled spans up
    to and including ``spans[i]`` (those with cases of the group). A period's count is the
    difference of two totals, so a list over a year reads one row per group, not one per
    group and span. Only differences count: ``base`` lets a roll move either side."""

    __tablename__ = "report_tallies"

    # "C": the roll sorts and joins on these by bytes; the keys are never shown in their order.
    list_name: Mapped[str] = mapped_column("list", Text(collation="C"), primary_key=True)
    # ARRAY[case_type, outcome, reason, vendor_id] as text; the list says which are keys.
    key: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    base: Mapped[int] = mapped_column(Integer)
    spans: Mapped[list[datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))
    cum: Mapped[list[int]] = mapped_column(ARRAY(Integer))


class ReportRefresh(Base):
    """One row: every case update from ``watermark`` on may not be in the rolled spans yet."""

    __tablename__ = "report_refresh"
    __table_args__ = (CheckConstraint("id", name="one_row"),)

    id: Mapped[bool] = mapped_column(Boolean, primary_key=True, server_default=text("true"))
    watermark: Mapped[datetime] = mapped_column(DateTime(timezone=True))
