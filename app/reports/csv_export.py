"""The summary as a spreadsheet: one (section, name, value, target) row per figure."""

import csv
import io
from collections.abc import Iterator

from app.reports.schemas import Figure, Figures, Share, Summary

HEADER = ("section", "name", "value", "target")
Row = tuple[str, str, object, object]


def _share(section: str, name: str, share: Share) -> Iterator[Row]:
    yield section, f"{name}_count", share.count, ""
    yield section, f"{name}_of", share.of, ""
    yield section, f"{name}_share", share.share.value, share.share.target


def _figure(section: str, name: str, figure: Figure) -> Row:
    return section, name, figure.value, figure.target


def _figures(prefix: str, report: Figures) -> Iterator[Row]:
    """A bucket's rows have its name before each section: 'week 2026-01-05 clocks'."""
    yield f"{prefix}cases", "opened", report.cases, ""
    yield f"{prefix}cases", "resolved", report.resolved, ""
    yield f"{prefix}cases", "orders", report.orders, ""
    clocks = f"{prefix}clocks"
    yield from _share(clocks, "acknowledged_in_time", report.first_response)
    yield from _share(clocks, "resolved_in_time", report.resolution)
    yield _figure(clocks, "resolution_hours_mean", report.resolution_hours_mean)
    yield _figure(clocks, "resolution_hours_median", report.resolution_hours_median)
    yield _figure(clocks, "resolution_hours_p90", report.resolution_hours_p90)
    for typed in report.by_type:
        section = f"{prefix}type {typed.case_type}"
        yield section, "cases", typed.cases, ""
        yield section, "resolved", typed.resolved, ""
        yield from _share(section, "resolved_in_time", typed.resolution)
        yield _figure(section, "resolution_hours_mean", typed.resolution_hours_mean)
    logging = report.time_to_logging
    section = f"{prefix}time_to_logging"
    yield section, "cases", logging.cases, ""
    yield from _share(section, "logged_in_time", logging.within)
    yield _figure(section, "hours_mean", logging.hours_mean)
    yield _figure(section, "hours_median", logging.hours_median)
    yield _figure(section, "hours_p90", logging.hours_p90)
    yield from _share(f"{prefix}dispute_rate", "disputed_orders", report.dispute_rate)
    yield from _share(f"{prefix}satisfaction", "score_4_or_5", report.satisfaction)
    yield from _share(
        f"{prefix}communication_satisfaction", "score_4_or_5", report.communication_satisfaction
    )


def rows(report: Summary) -> Iterator[Row]:
    """The report as (section, name, value, target) rows, one per figure: what the CSV holds."""
    yield "period", "since", report.since.isoformat(), ""
    yield "period", "until", report.until.isoformat(), ""
    yield "period", "bucket", report.bucket, ""
    yield from _figures("", report)
    for c in report.by_type_and_outcome:
        yield "cases_by_type_and_outcome", f"{c.case_type}/{c.outcome or 'undecided'}", c.cases, ""
    for v in report.top_vendors:
        yield "top_vendors", v.vendor_id, v.cases, ""
    for r in report.top_reasons:
        yield "top_reasons", f"{r.case_type}/{r.reason}", r.cases, ""
    for rc in report.root_causes:
        yield "root_causes", f"{rc.case_type}/{rc.reason}/{rc.vendor_id}", rc.cases, ""
    for bucket in report.buckets:
        label = bucket.start.isoformat()[: 7 if report.bucket == "month" else 10]
        yield from _figures(f"{report.bucket} {label} ", bucket)


def to_csv(report: Summary) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for section, name, value, target in rows(report):
        writer.writerow((section, name, "" if value is None else value, target))
    return out.getvalue()
