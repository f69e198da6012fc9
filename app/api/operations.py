"""Every operation's id in the API description, chosen once, here.

Client generators name their methods after these (``client.createPayoutDispute(...)``), so
an id is part of the contract: renaming one breaks every generated client. A route missing
from the table fails the app's routing and its description at once, so a new route is named
when it is added.
"""

from typing import Any

from fastapi.utils import generate_unique_id

OPERATION_IDS: dict[tuple[str, str], str] = {
    ("GET", "/health"): "getHealth",
    ("GET", "/ready"): "getReadiness",
    ("GET", "/metrics"): "getMetrics",
    ("GET", "/problems/{slug}"): "getProblemType",
    ("PUT", "/v1/orders/{order_id}"): "putOrder",
    ("GET", "/v1/orders/{order_id}"): "getOrder",
    ("GET", "/v1/orders"): "listOrders",
    ("GET", "/v1/vendors/{vendor_id}"): "getVendor",
    ("GET", "/v1/vendors/{vendor_id}/ledger"): "listVendorLedger",
    ("POST", "/v1/vendors/{vendor_id}/standing"): "changeVendorStanding",
    ("POST", "/v1/orders/{order_id}/fail-reasons"): "createFailReason",
    ("POST", "/v1/fail-reviews/{case_id}/verdict"): "giveFailVerdict",
    ("GET", "/v1/wallet-refunds"): "listWalletRefunds",
    ("POST", "/v1/wallet-refunds/{entry_id}/release"): "releaseWalletRefund",
    ("POST", "/v1/payout-disputes"): "createPayoutDispute",
    ("POST", "/v1/payout-disputes/{case_id}/vendor-response"): "answerPayoutDispute",
    ("POST", "/v1/payout-disputes/{case_id}/manager-decision"): "decideEscalatedPayoutDispute",
    ("GET", "/v1/payouts"): "listPayouts",
    ("GET", "/v1/payouts/{payout_id}"): "getPayout",
    ("POST", "/v1/payouts/{payout_id}/approve"): "approvePayout",
    ("POST", "/v1/payouts/{payout_id}/reject"): "rejectPayout",
    ("POST", "/v1/pickup-complaints"): "createPickupComplaint",
    ("POST", "/v1/pickup-complaints/{case_id}/resolve"): "resolvePickupComplaint",
    ("POST", "/v1/payment-records"): "sendPaymentRecords",
    ("POST", "/v1/payment-discrepancies/{case_id}/resolve"): "resolvePaymentDiscrepancy",
    ("GET", "/v1/cases"): "listCases",
    ("GET", "/v1/cases/{case_id}"): "getCase",
    ("POST", "/v1/cases/{case_id}/override"): "overrideCase",
    ("POST", "/v1/cases/{case_id}/notes"): "addCaseNote",
    ("POST", "/v1/cases/{case_id}/assign"): "assignCase",
    ("POST", "/v1/cases/{case_id}/feedback"): "recordCaseFeedback",
    ("GET", "/v1/decisions"): "listDecisions",
    ("GET", "/v1/decisions/{decision_id}"): "getDecision",
    ("POST", "/v1/decisions/simulate"): "simulateDecision",
    ("GET", "/v1/events"): "listEvents",
    ("POST", "/v1/webhook-endpoints"): "createWebhookEndpoint",
    ("GET", "/v1/webhook-endpoints"): "listWebhookEndpoints",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): "getWebhookEndpoint",
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): "deleteWebhookEndpoint",
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "listWebhookDeliveries",
    ("GET", "/v1/rulesets"): "getRuleset",
    ("GET", "/v1/reports/summary"): "getSummaryReport",
    ("GET", "/v1/reports/summary.csv"): "getSummaryReportCsv",
}


def operation_id(route: Any) -> str:
    """FastAPI's ``generate_unique_id_function``: the route's id from the table."""
    if not route.include_in_schema:  # not described, so no contract to keep
        return generate_unique_id(route)
    methods = sorted(route.methods or ())
    if len(methods) != 1:
        raise ValueError(f"{route.path}: one method per route, so that each has one id")
    try:
        return OPERATION_IDS[(methods[0], route.path)]
    except KeyError:
        raise LookupError(
            f"{methods[0]} {route.path} has no operation id: add it to app/api/operations.py"
        ) from None
