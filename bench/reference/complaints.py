"""Pickup complaints by hand: the ticket for CX, the customer acknowledged, a repeat vendor
flagged."""

from datetime import datetime, timedelta

import asyncpg

from app.pickup_complaints.schemas import PickupComplaintIn
from bench.reference.common import (
    RULES,
    Config,
    NotModelled,
    Refused,
    Row,
    Writes,
    answer,
    escalate,
    insert_case,
    new_case,
)
from bench.reference.filing import LOCK_VENDOR_OF_ORDER

TABLE = "pickup_complaints"
FRAUD = ("pickup_marked_not_attempted", "vendor_asked_extra_money_or_documents")

ORDER_WITH_COMPLAINTS = """
SELECT o.*, (SELECT count(*) FROM cases c WHERE c.vendor_id = o.vendor_id
  AND c.case_type = 'pickup_complaint' AND c.created_at >= now() - $2::interval
  AND c.created_at < statement_timestamp()) AS earlier
FROM orders o WHERE o.id = $1 FOR UPDATE"""


def decide(config: Config, facts: Row) -> tuple[list[Row], list[str], Row]:
    """rules/pickup_complaints.yaml in plain Python: actions, rules fired, ticket."""
    fired = ["qualifying_issue_escalates_to_cx"]
    actions: list[Row] = [{"type": "escalate", "to": "cx_team"}]
    ticket = {"category": "customer_pickup_complaint", "assignee_team": "cx_team"}
    if not any(facts[code] for code in FRAUD):
        fired.append("no_fraud_indicator_normal_priority")
        ticket["priority"] = "normal"
    for code, rule in zip(
        FRAUD,
        (
            "pickup_marked_not_attempted_is_possible_fraud",
            "extra_money_or_documents_is_possible_fraud",
        ),
        strict=True,
    ):
        if facts[code]:
            fired.append(rule)
            ticket["priority"] = "high"
    if (
        facts["vendor_known"]
        and facts["earlier_complaints"] >= config.policy.repeat_complaint_count
    ):
        fired.append("repeat_complaints_flag_vendor")
        template = "repeat_pickup_complaints"
        actions += [
            {"type": "flag_vendor", "reason": template},
            {"type": "escalate", "to": "vendor_manager"},
            {
                "type": "notify",
                "audience": "vendor_manager",
                "template": template,
                "text": config.message(TABLE, template, facts),
            },
        ]
    return actions, fired, ticket


async def file(connection: asyncpg.Connection, config: Config, body: PickupComplaintIn) -> Row:
    actor, policy = config.actors["support"], config.policy
    known = config.engine.tables[TABLE].all_codes()
    for index, code in enumerate(body.issues):
        if code not in known:
            raise Refused(422, f"issues[{index}]: unknown issue code '{code}'.")
    issues = list(dict.fromkeys(body.issues))
    if body.order_id is None:
        raise NotModelled("a complaint without an order")
    vendor = await connection.fetchrow(LOCK_VENDOR_OF_ORDER, body.order_id)
    if vendor is None:
        raise Refused(422, f"No order {body.order_id} here.")
    order = await connection.fetchrow(
        ORDER_WITH_COMPLAINTS, body.order_id, timedelta(days=policy.repeat_window_days)
    )
    if order["vendor_id"] != vendor["id"]:
        raise NotModelled("an order that moved vendor")
    if body.vendor_id is not None and body.vendor_id != order["vendor_id"]:
        raise Refused(422, f"Order {order['id']} belongs to vendor {order['vendor_id']}.")
    now: datetime = vendor["now"]
    facts: Row = {
        **{code: code in issues for code in sorted(known)},
        "vendor_known": True,
        "earlier_complaints": order["earlier"],
    }
    case = new_case(
        case_type="pickup_complaint",
        order_id=order["id"],
        vendor_id=vendor["id"],
        status="open",
        category="customer_pickup_complaint",
        ticket_status="open",
        priority="normal",
        assignee_team="cx_team",
        details={
            **body.model_dump(mode="json"),
            "issues": issues,
            "filed_by": actor.key,
            "filed_by_name": actor.name,
        },
        reason=issues[0],
        acknowledged_at=now,
    )
    writes = Writes(now)
    writes.emit(case, "case.opened", case_type="pickup_complaint", issues=issues)
    writes.opened_for_the_customer(config, case, TABLE, "pickup_complaint")
    actions, fired, ticket = decide(config, facts)
    decision = writes.record(
        config,
        case,
        stage="final",
        outcome="escalated_to_cx",
        actions=actions,
        rules_fired=fired,
        facts=facts,
        decided_by={"kind": "rules", "actor": actor.key, "name": actor.name, "role": None},
        ticket=ticket,
    )
    flags = list(vendor["flags"])
    for index, action in enumerate(actions):
        if action["type"] == "escalate":
            escalate(writes, case, action["to"])
        elif action["type"] == "notify":
            writes.emit(
                case, "notification.requested", **{k: action[k] for k in action if k != "type"}
            )
        else:
            writes.entry(case, decision, index, action, RULES)
            flags.append({"reason": action["reason"], "case_id": case["id"]})
    case.update(ticket)
    await insert_case(connection, case)
    await writes.flush(connection)
    if flags != list(vendor["flags"]):
        await connection.execute(
            "UPDATE vendors SET flags = $2, updated_at = now() WHERE id = $1", vendor["id"], flags
        )
    return answer(case, now, now, writes.decisions, writes.deadlines)
