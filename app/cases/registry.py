"""Every case type, by name: what overrides, simulations, the watcher and the views go
through, instead of asking what a case is."""

from app.cases.case_type import CaseType
from app.services import fail_reasons, payment_discrepancies, payout_disputes, pickup_complaints
from app.services.errors import NotFound

CASE_TYPES: dict[str, CaseType] = {
    case_type.name: case_type
    for case_type in (
        payout_disputes.CASE,
        fail_reasons.CASE,
        pickup_complaints.CASE,
        payment_discrepancies.CASE,
    )
}


def case_type_of(name: str) -> CaseType:
    try:
        return CASE_TYPES[name]
    except KeyError:
        raise NotFound(f"No case type {name}.") from None
