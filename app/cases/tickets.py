"""A case's ticket: one shape for every case type, the procedures' ticketing fields."""

from dataclasses import dataclass
from enum import StrEnum

from app.models import Case


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


# The teams a case can be with (assignee_team): who opened it works it, an escalation
# moves it.
TEAMS = ("ops", "cx_team", "dispute_resolution", "ops_manager", "finance_manager", "vendor_manager")


@dataclass(frozen=True)
class Ticket:
    type: str
    category: str | None
    status: str
    priority: str
    assignee_team: str | None
    assignee: str | None


def ticket_of(case: Case) -> Ticket:
    return Ticket(
        type=case.case_type,
        category=case.category,
        status=case.ticket_status,
        priority=case.priority,
        assignee_team=case.assignee_team,
        assignee=case.assignee,
    )


def set_ticket(case: Case, **fields: str | None) -> None:
    """Sets ticket fields by their names on the wire (status, category, priority,
    assignee_team, assignee); a rule table may set category, priority and assignee_team."""
    for name, value in fields.items():
        setattr(case, "ticket_status" if name == "status" else name, value)
