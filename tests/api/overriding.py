"""What the override tests share: a case decided by the rules, an override that must be
taken, and what the ledger adds up to."""

from collections import Counter
from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import answered, file_fail_reason, override, put_order, verdict

# Actions whose ledger entries carry an amount; the others count once each.
AMOUNT_KINDS = {"credit_refund", "credit_fine", "platform_payout", "wallet_refund_eligible"}


async def overridden(
    client: AsyncClient, ops: Headers, case_id: str, outcome: str, *actions: dict[str, Any]
) -> dict[str, Any]:
    """The case as an override taken (200) leaves it."""
    body: dict[str, Any] = answered(await override(client, ops, case_id, outcome, *actions))
    return body


def in_force(entries: list[dict[str, Any]]) -> Counter[str]:
    """What the ledger adds up to per effect: a reversal counts against what it reverses."""
    total: Counter[str] = Counter()
    for entry in entries:
        reversal = entry["kind"] == "reversal"
        effect = entry["details"]["reverses"] if reversal else entry["kind"]
        if effect in AMOUNT_KINDS:
            total[effect] += entry["amount"]
        else:
            total[effect] += -1 if reversal else 1
    return +total  # effects that sum to zero are not in force


def effects_of(actions: list[dict[str, Any]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for action in actions:
        if action["type"] in ("escalate", "notify", "ticket_note"):
            continue  # case actions, not in the ledger
        total[action["type"]] += action["amount"] if action["type"] in AMOUNT_KINDS else 1
    return +total


async def decided_case(
    client: AsyncClient, service: Headers, ops: Headers, code: str, fault: str, **extra: Any
) -> dict[str, Any]:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(client, ops, "ORD-1", code, **extra)
    confirmed = {"vendor_paid_customer": True} if extra.get("vendor_paid_customer") else {}
    return await verdict(client, ops, case["id"], fault, **confirmed)
