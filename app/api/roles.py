"""Who may do what: every role's rights, in one table.

Each route asks for one right (``require(Right.VERDICT)``); a key's role either has it or the
request is refused with 403. Rights that only read are listed apart, because the finance
manager reads everything that any role other than a vendor reads, and a vendor's key reads
only its own vendor's records (the routes check that, with ``Principal.ensure_vendor``).
"""

from collections.abc import Mapping
from enum import StrEnum


class Role(StrEnum):
    VENDOR = "vendor"  # the vendor app, bound to one vendor
    SUPPORT = "support"  # support and CX agents
    OPS = "ops"  # ops executives, who investigate
    OPS_MANAGER = "ops_manager"
    FINANCE_MANAGER = "finance_manager"
    SERVICE = "service"  # other systems: the order system, payments, reporting


class Right(StrEnum):
    # Reads: they change nothing.
    READ = "read a case, order, decision, payout, vendor, or the ruleset"
    WATCH = "read the decision list, the events feed, reports or metrics"
    FIND_ORDERS = "find orders by the customer's phone"
    SIMULATE = "simulate a decision"
    LIST_PAYOUTS = "list the payouts"
    LIST_WALLET_REFUNDS = "list the wallet refunds"
    # Writes.
    SEND_ORDERS = "send order snapshots"
    SEND_PAYMENT_RECORDS = "send payment records"
    OPEN_CASES = "open payout disputes or pickup complaints"
    CLOSE_COMPLAINTS = "close pickup complaints"
    GIVE_FEEDBACK = "record the customer's feedback"
    WRITE_NOTES = "add notes to a case"
    ASSIGN = "assign a case"
    FILE_FAIL_REASONS = "file a fail reason"
    ANSWER_DISPUTES = "answer a payout dispute"
    GIVE_VERDICTS = "give a fail review's verdict"
    OVERRIDE = "override a decision"
    RELEASE_WALLET_REFUNDS = "release a wallet refund"
    RESOLVE_DISCREPANCIES = "resolve a payment discrepancy"
    DECIDE_ESCALATED = "decide an escalated case"
    CHANGE_STANDING = "change a vendor's standing"
    APPROVE_PAYOUTS = "approve or reject a payout"
    MANAGE_WEBHOOKS = "add, list and remove webhook endpoints"


READS = frozenset(
    {
        Right.READ,
        Right.WATCH,
        Right.FIND_ORDERS,
        Right.SIMULATE,
        Right.LIST_PAYOUTS,
        Right.LIST_WALLET_REFUNDS,
    }
)

_OPS = frozenset(
    {
        *READS,
        Right.SEND_ORDERS,
        Right.OPEN_CASES,
        Right.CLOSE_COMPLAINTS,
        Right.GIVE_FEEDBACK,
        Right.WRITE_NOTES,
        Right.ASSIGN,
        Right.FILE_FAIL_REASONS,
        Right.ANSWER_DISPUTES,
        Right.GIVE_VERDICTS,
        Right.OVERRIDE,  # below the high-value threshold and not escalated: the service checks
        Right.RELEASE_WALLET_REFUNDS,
        Right.RESOLVE_DISCREPANCIES,
        Right.MANAGE_WEBHOOKS,
    }
)

RIGHTS: Mapping[Role, frozenset[Right]] = {
    Role.VENDOR: frozenset({Right.READ, Right.FILE_FAIL_REASONS, Right.ANSWER_DISPUTES}),
    Role.SUPPORT: frozenset(
        {
            Right.READ,
            Right.FIND_ORDERS,
            Right.OPEN_CASES,
            Right.CLOSE_COMPLAINTS,
            Right.GIVE_FEEDBACK,
            Right.WRITE_NOTES,
            Right.ASSIGN,
        }
    ),
    Role.OPS: _OPS,
    Role.OPS_MANAGER: _OPS | {Right.DECIDE_ESCALATED, Right.CHANGE_STANDING},
    Role.FINANCE_MANAGER: READS | {Right.APPROVE_PAYOUTS},
    Role.SERVICE: frozenset(
        {
            Right.READ,
            Right.WATCH,
            Right.SIMULATE,
            Right.LIST_PAYOUTS,
            Right.SEND_ORDERS,
            Right.SEND_PAYMENT_RECORDS,
        }
    ),
}


def roles_with(right: Right) -> tuple[Role, ...]:
    """The roles that have ``right``, in the table's order."""
    return tuple(role for role in Role if right in RIGHTS[role])
