"""What each case counts for, in SQL: the fragments the live reads and the rolls share, so a
rolled span holds exactly what reading its cases live would give.

Durations are read two ways. Sums are exact integers of microseconds (a mean is then one
division, the same however the cases were added up). Percentiles are picked from
``float8`` seconds, as ``percentile_cont`` picks them: ``extract`` gives the exact interval
and the cast rounds it once (``date_part`` adds the days and the seconds in floating point,
a rounding more).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

# Bump when what a rolled span holds changes: every span is rolled again on its next read.
ROLLUP_VERSION = 2
PERCENTILES = (0.5, 0.9)
# The case types whose orders count as disputed for the dispute rate: the payment disputes.
DISPUTE_TYPES = ("payout_dispute", "payment_discrepancy")


@dataclass(frozen=True)
class ClockRules:
    """What the clocks are measured against: the policy's hours and who is owed a reply."""

    customer_facing: tuple[str, ...]
    first_response: timedelta
    resolution: timedelta
    logging: timedelta

    @property
    def basis(self) -> str:
        """What a rolled span's counts depend on, besides its cases."""
        return (
            f"v{ROLLUP_VERSION};first_response={self.first_response.total_seconds():g}s;"
            f"resolution={self.resolution.total_seconds():g}s;"
            f"logging={self.logging.total_seconds():g}s;"
            f"customer_facing={','.join(self.customer_facing)}"
        )

    @property
    def longest(self) -> timedelta:
        """A span this long over has every clock of its cases run out."""
        return max(self.first_response, self.resolution)

    def params(self, now: datetime) -> dict[str, object]:
        return {
            "customer_facing": list(self.customer_facing),
            "first_response": self.first_response,
            "resolution": self.resolution,
            "logging": self.logging,
            "acknowledgement_closed": now - self.first_response,
            "resolution_closed": now - self.resolution,
            "dispute_types": list(DISPUTE_TYPES),
        }


RESOLUTION_SECONDS = "extract(epoch FROM resolved_at - created_at)"
# From the payment record that showed the discrepancy to the case opened for it.
LOGGING_SECONDS = "extract(epoch FROM created_at - detected_at)"

# The acknowledgement is owed for customer-facing cases only. "Due" counts the cases whose
# clock has run out by now (opened before the ``*_closed`` bound), or that met it: a case
# opened minutes ago and not resolved yet has not failed its 48 hours, and would wrongly
# lower the share. The bounds are parameters so that no row computes them. A rolled span has
# ended before both bounds, so its counts no longer move with now. Logging is known when the
# case opens: nothing is due later.
CLOCK_COLUMNS = f"""
    count(*) AS cases,
    count(*) FILTER (WHERE case_type = ANY(:customer_facing)
                     AND acknowledged_at <= created_at + :first_response)
        AS acknowledged_in_time,
    count(*) FILTER (WHERE case_type = ANY(:customer_facing)
                     AND (acknowledged_at <= created_at + :first_response
                          OR created_at <= :acknowledgement_closed))
        AS acknowledgement_due,
    count(*) FILTER (WHERE resolved_at <= created_at + :resolution) AS resolved_in_time,
    count(*) FILTER (WHERE resolved_at <= created_at + :resolution
                     OR created_at <= :resolution_closed) AS resolution_due,
    count(resolved_at) AS resolved,
    coalesce(sum({RESOLUTION_SECONDS} * 1000000), 0)::bigint AS resolution_us,
    count(detected_at) AS logged,
    count(*) FILTER (WHERE created_at <= detected_at + :logging) AS logged_in_time,
    coalesce(sum({LOGGING_SECONDS} * 1000000), 0)::bigint AS logging_us
"""
# The clock columns a span's or a bucket's figures add up.
CLOCK_SUMS = (
    "cases",
    "acknowledged_in_time",
    "acknowledgement_due",
    "resolved_in_time",
    "resolution_due",
    "resolved",
    "resolution_us",
    "logged",
    "logged_in_time",
    "logging_us",
)

# Each case's durations, one row per kind it has (a case not resolved has no resolution).
DURATIONS = f"""
    CROSS JOIN LATERAL (
        VALUES ('resolution', CAST({RESOLUTION_SECONDS} AS float8)),
               ('logging', CAST({LOGGING_SECONDS} AS float8))
    ) AS d(kind, s)
"""


def histogram_bucket(seconds: str) -> str:
    """The bucket a duration is kept in: buckets k² to (k+1)² seconds wide, fine where times
    are short (logging: minutes) and coarse where long (resolution: days), a few hundred in
    all. The order of the buckets is the order of their values, negative ones included."""
    return f"floor(sign({seconds}) * sqrt(abs({seconds})))::int"


def live(table: str) -> str:
    """The rows of a split's two live parts: two range scans (an OR of the ranges would scan
    the whole index)."""
    return f"""(
        SELECT * FROM {table} WHERE created_at >= :since AND created_at < :rolled_from
        UNION ALL
        SELECT * FROM {table} WHERE created_at >= :rolled_to AND created_at < :until
    ) AS {table}"""


DISPUTED = """
    EXISTS (SELECT FROM cases d
            WHERE d.order_id = orders.id AND d.case_type = ANY(:dispute_types))
"""
