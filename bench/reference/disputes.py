"""Payout disputes by hand: the customer's claim opens the case, the vendor's answer decides
it (paid in full with proof: the answer the benchmark sends)."""

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from app.payout_disputes.facts import opening_facts
from app.payout_disputes.schemas import PayoutDisputeIn, VendorResponseIn
from app.rules_engine.templates import render_template
from bench.reference.common import (
    TIMES,
    Config,
    NotModelled,
    Refused,
    Row,
    Writes,
    answer,
    escalate,
    from_json,
    insert_case,
    new_case,
    update_case,
)
from bench.reference.filing import LOCK_VENDOR_OF_CASE, LOCK_VENDOR_OF_ORDER, SETTLE

TABLE = "payout_disputes"
LOST = ["resolved_paid_by_platform", "escalated_pending_manager"]

ORDER_WITH_DISPUTES = """
SELECT o.*, (SELECT count(*) FROM cases c WHERE c.order_id = o.id
  AND c.case_type = 'payout_dispute') AS disputes
FROM orders o WHERE o.id = $1 FOR UPDATE"""
CASE_WITH_HISTORY = """
SELECT to_jsonb(k) AS case_row, o.final_invoice_amount, o.payment, o.pickup_notes,
  (SELECT jsonb_agg(to_jsonb(d) ORDER BY d.decided_at, d.id) FROM decisions d
     WHERE d.case_id = k.id) AS decisions,
  (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM deadlines t WHERE t.case_id = k.id)
    AS deadlines,
  (SELECT count(*) FROM cases c WHERE c.vendor_id = k.vendor_id
     AND c.case_type = 'payout_dispute' AND c.created_at >= now() - $2::interval
     AND c.id <> k.id AND c.outcome = ANY($3::text[])) AS lost
FROM cases k LEFT JOIN orders o ON o.id = k.order_id
WHERE k.id = $1 FOR UPDATE OF k"""


def _notify(config: Config, template: str, facts: Row) -> Row:
    action: Row = {"type": "notify", "audience": "vendor", "template": template}
    text = config.message(TABLE, template, facts)
    return action if text is None else {**action, "text": text}


async def open_dispute(
    connection: asyncpg.Connection, config: Config, body: PayoutDisputeIn
) -> Row:
    actor, policy = config.actors["support"], config.policy
    vendor = await connection.fetchrow(LOCK_VENDOR_OF_ORDER, body.order_id)
    if vendor is None:
        raise Refused(422, f"No order {body.order_id}; the order system must PUT it first.")
    order = await connection.fetchrow(ORDER_WITH_DISPUTES, body.order_id)
    if order["vendor_id"] != vendor["id"] or body.claim != "not_paid" or body.amount_received:
        raise NotModelled("a paid_less claim, or an order that moved vendor")
    invoice = order["final_invoice_amount"]
    if invoice == 0:
        raise Refused(422, "A final invoice of 0 cannot be unpaid.")
    if order["pickup_status"] != "completed" or order["status"] != "open" or order["disputes"]:
        raise Refused(409, f"Order {body.order_id} takes no payout dispute.")
    now: datetime = vendor["now"]
    details = {
        **body.model_dump(mode="json"),
        "invoice_amount": invoice,
        "disputed_amount": invoice,
        "customer_received": 0,
    }
    case = new_case(
        case_type="payout_dispute",
        order_id=order["id"],
        vendor_id=vendor["id"],
        status="awaiting_vendor",
        category="customer_not_paid",
        ticket_status="awaiting_vendor",
        priority="normal",
        assignee_team="ops",
        details={**details, "opened_by": actor.key, "vendor_responses": []},
        reason=body.claim,
        acknowledged_at=now,
    )
    writes = Writes(now)
    writes.emit(
        case,
        "case.opened",
        case_type="payout_dispute",
        claim=body.claim,
        disputed_amount=invoice,
        channel=body.channel,
    )
    writes.opened_for_the_customer(config, case, TABLE, "payout_dispute")
    writes.deadline(case, "vendor_response", now + timedelta(hours=policy.vendor_response_hours))
    facts = opening_facts(case["details"], config.policy, "opened")
    fired = ["dispute_opened_awaits_vendor"]
    actions = [_notify(config, "payout_dispute_opened", facts)]
    if invoice >= policy.high_value_threshold:
        fired.append("high_value_dispute_escalates_to_finance")
        actions.append({"type": "escalate", "to": "finance_manager"})
    writes.record(
        config,
        case,
        stage="interim",
        outcome="awaiting_vendor",
        actions=actions,
        rules_fired=fired,
        facts=facts,
        decided_by={"kind": "rules", "actor": actor.key, "name": actor.name, "role": None},
    )
    for action in actions:
        if action["type"] == "escalate":
            escalate(writes, case, action["to"])
        else:
            writes.emit(
                case, "notification.requested", **{k: action[k] for k in action if k != "type"}
            )
    if case["escalations"]:
        case["priority"] = "high"
    await insert_case(connection, case)
    await writes.flush(connection)
    return answer(case, now, now, writes.decisions, writes.deadlines)


async def respond(
    connection: asyncpg.Connection, config: Config, case_id: str, body: VendorResponseIn
) -> Row:
    actor, policy = config.actors["ops"], config.policy
    vendor = await connection.fetchrow(LOCK_VENDOR_OF_CASE, case_id)
    row = await connection.fetchrow(
        CASE_WITH_HISTORY, case_id, timedelta(days=policy.repeat_window_days), LOST
    )
    if row is None or vendor is None or row["case_row"]["case_type"] != "payout_dispute":
        raise Refused(404, f"No payout dispute {case_id}.")
    case = from_json(dict(row["case_row"]), *TIMES)
    now: datetime = vendor["now"]
    details: Row = case["details"]
    invoice = details["invoice_amount"]
    if case["status"] != "awaiting_vendor":
        raise NotModelled("an answer to a dispute not awaiting the vendor")
    given = body.proof
    proven = given is not None and given.kind == "payment_proof"
    if body.response != "paid_full" or given is None or not proven or body.deduction_reason:
        raise NotModelled("an answer other than paid in full with proof")
    paid = invoice if body.amount_paid is None else body.amount_paid
    if paid < invoice:
        raise Refused(422, f"amount_paid {paid} is below the final invoice {invoice} (paise).")
    proof = given.model_dump()
    counted = paid if paid > details["customer_received"] else details["customer_received"]
    facts = opening_facts(details, config.policy, "vendor_response")
    facts.update(
        earlier_disputes_lost=row["lost"],
        response=body.response,
        has_proof=True,
        proof_kind=proof["kind"],
        proof_ref=proof["ref"],
        vendor_paid=paid,
        counted_paid=counted,
        shortfall=invoice - counted,
        unjustified_amount=invoice - counted,
    )
    writes = Writes(now)
    note = f"Vendor paid in full; proof attached: {proof['kind']} {proof['ref']}"
    actions = [
        {"type": "ticket_note", "text": note},
        _notify(config, "payout_dispute_resolved_paid", facts),
    ]
    decision = writes.record(
        config,
        case,
        stage="final",
        outcome="resolved_paid",
        actions=actions,
        rules_fired=["paid_in_full_with_proof"],
        facts=facts,
        decided_by={
            "kind": "rules",
            "answered_by": actor.key,
            "name": actor.name,
            "role": actor.role,
        },
    )
    case["notes"] = [*case["notes"], {"text": note, "by": "rules"}]
    notify = actions[1]
    writes.emit(case, "notification.requested", **{k: notify[k] for k in notify if k != "type"})
    case.update(status="resolved", resolved_at=now, ticket_status="resolved_paid")
    writes.emit(case, "case.resolved", outcome="resolved_paid")
    told = config.engine.tables[TABLE].customer
    assert told is not None
    about: dict[str, Any] = {"order_id": case["order_id"], "resolution_due": ""}
    writes.emit(
        case,
        "notification.requested",
        audience="customer",
        template="payout_dispute_resolved",
        text=render_template(
            told.resolved["resolved_paid"], {**facts, **about, "platform_paid": 0}
        ),
        outcome="resolved_paid",
    )
    answered = {
        **body.model_dump(mode="json"),
        "by": actor.key,
        "name": actor.name,
        "at": now.isoformat(),
    }
    case["details"] = {
        **details,
        "vendor_responses": [
            *details["vendor_responses"],
            {**answered, "amount_paid": paid, "decision_id": decision["id"]},
        ],
    }
    # The vendor's clock is met by an answer in time; the others settle as the case resolves.
    settled = {d["id"]: dict(d) for d in await connection.fetch(SETTLE, case_id, "vendor_response")}
    answered_in_time = any(
        d["kind"] == "vendor_response" and d["due_at"] > now for d in settled.values()
    )
    if not answered_in_time or any(d["outcome"] == "missed" for d in settled.values()):
        raise Refused(409, f"The vendor's answer to payout dispute {case_id} was due.")
    await update_case(connection, case)
    await writes.flush(connection)
    earlier = [from_json(d, "decided_at") for d in row["decisions"]]
    clocks = [
        settled.get(d["id"]) or from_json(d, "due_at", "settled_at") for d in row["deadlines"]
    ]
    return answer(case, case["created_at"], now, [*earlier, *writes.decisions], clocks)
