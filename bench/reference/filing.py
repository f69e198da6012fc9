"""Fail reasons by hand: the vendor's filing (a proposal) and ops's verdict (applied)."""

from datetime import datetime, timedelta
from typing import Any

import asyncpg

from app.fail_reasons.schemas import FailReasonIn, VerdictIn
from bench.reference.common import (
    TIMES,
    Config,
    NotModelled,
    Refused,
    Row,
    Writes,
    answer,
    from_json,
    insert_case,
    new_case,
    update_case,
)

TABLE = "fail_reasons"
IMPLIED = {"customer": "customer", "vendor": "vendor", "fraud": "vendor", "disputed": "undecided"}
ALLOWED = {
    "customer": {"customer"},
    "vendor": {"vendor"},
    "fraud": {"vendor"},
    "disputed": {"customer", "vendor"},
}
STATUS_ORDER = ("active", "on_hold", "deactivation_review", "deactivated")

LOCK_VENDOR_OF_ORDER = """
SELECT v.*, now() AS now FROM vendors v
WHERE v.id = (SELECT vendor_id FROM orders WHERE id = $1) FOR UPDATE OF v"""
LOCK_VENDOR_OF_CASE = """
SELECT v.*, now() AS now FROM vendors v
WHERE v.id = (SELECT vendor_id FROM cases WHERE id = $1) FOR UPDATE OF v"""

# The vendor's record beside the order: active strikes, fail reasons in the window (this
# case aside), the issues complaints on the order reported, a payout dispute on it, and the
# credits already refunded on it (the money gate's limit for a credit refund).
RECORD = """
(SELECT count(*) FROM ledger_entries l WHERE l.vendor_id = o.vendor_id AND l.kind = 'sla_strike'
   AND l.created_at > now() - $2::interval AND NOT EXISTS (SELECT 1 FROM ledger_entries r
   WHERE r.settles_entry_id = l.id AND r.kind = 'reversal')) AS active_strikes,
(SELECT count(*) FROM cases c WHERE c.vendor_id = o.vendor_id AND c.case_type = 'fail_reason'
   AND c.created_at >= now() - $3::interval AND c.created_at < statement_timestamp()
   AND c.id IS DISTINCT FROM $4) AS earlier_fail_reasons,
(SELECT coalesce(jsonb_agg(c.details -> 'issues'), '[]') FROM cases c
   WHERE c.order_id = o.id AND c.case_type = 'pickup_complaint') AS complaint_issues,
(SELECT c.id FROM cases c WHERE c.order_id = o.id AND c.case_type = 'payout_dispute'
   ORDER BY c.created_at DESC LIMIT 1) AS payout_dispute,
(SELECT coalesce(sum(l.amount), 0) FROM ledger_entries l WHERE l.order_id = o.id
   AND l.kind = 'credit_refund' AND NOT EXISTS (SELECT 1 FROM ledger_entries r
   WHERE r.settles_entry_id = l.id)) AS credits_refunded_on_order"""
ORDER_WITH_RECORD = f"SELECT o.*, {RECORD} FROM orders o WHERE o.id = $1 FOR UPDATE"
CASE_WITH_RECORD = f"""
SELECT to_jsonb(k) AS case_row, o.*, {RECORD},
  (SELECT jsonb_agg(to_jsonb(d) ORDER BY d.decided_at, d.id) FROM decisions d
     WHERE d.case_id = k.id) AS decisions,
  (SELECT coalesce(jsonb_agg(to_jsonb(t)), '[]') FROM deadlines t WHERE t.case_id = k.id)
    AS deadlines
FROM cases k LEFT JOIN orders o ON o.id = k.order_id
WHERE k.id = $1 FOR UPDATE OF k"""
# Every running clock of the case settles as it is resolved (one held by a watcher is left).
SETTLE = """
UPDATE deadlines d SET settled_at = now(), outcome = CASE WHEN d.kind = $2 THEN 'met'
  WHEN d.kind <> 'resolution' THEN 'cancelled' WHEN now() <= d.due_at THEN 'met'
  ELSE 'missed' END
WHERE d.id IN (SELECT id FROM deadlines WHERE case_id = $1 AND settled_at IS NULL
  FOR UPDATE SKIP LOCKED)
RETURNING d.id, d.kind, d.due_at, d.outcome, d.settled_at"""


def _record_args(config: Config, key: str, excluding: str | None) -> tuple[Any, ...]:
    policy = config.policy
    return (
        key,
        timedelta(days=policy.strike_expiry_days),
        timedelta(days=policy.repeat_window_days),
        excluding,
    )


def _class_of(config: Config, code: str) -> str:
    cls = config.engine.tables[TABLE].class_of(code)
    if cls is None:
        raise Refused(422, f"Unknown fail reason '{code}'.")
    return cls


def facts_of(config: Config, row: Any, vendor: Any, reason: str, fault: str) -> Row:
    issues = {code for issues in row["complaint_issues"] for code in issues or []}
    strikes = row["active_strikes"]
    return {
        "fault": fault,
        "reason": reason,
        "reason_class": _class_of(config, reason),
        "unlock_credits": row["unlock_credits"],
        "vendor_paid_customer": False,
        "amount_paid_to_customer": 0,
        "active_strikes": strikes,
        "strikes_if_vendor_fault": strikes + 1,
        "vendor_status": vendor["status"],
        "earlier_fail_reasons": row["earlier_fail_reasons"],
        "complaint_vendor_rude_late_unprofessional": "vendor_rude_late_unprofessional" in issues,
        "complaint_vendor_asked_extra_money_or_documents": (
            "vendor_asked_extra_money_or_documents" in issues
        ),
    }


def decide(config: Config, f: Row) -> tuple[str, list[Row], list[str]]:
    """rules/fail_reasons.yaml in plain Python, top to bottom (no payment to the customer)."""
    policy, fired, actions = config.policy, [], []
    fault, outcome = f["fault"], "pending_verdict"
    if fault == "undecided":
        return outcome, [], ["fault_undecided_awaits_verdict"]
    customer_flags = ("rude_late_unprofessional", "asked_extra_money_or_documents")
    complaints = [f["complaint_vendor_" + name] for name in customer_flags]
    if fault == "customer":
        outcome = "failed_customer_fault"
        fired.append("customer_fault")
        if f["earlier_fail_reasons"] < policy.repeat_fail_count and not any(complaints):
            fired.append("customer_fault_refunds_credits")
            actions.append({"type": "credit_refund", "amount": f["unlock_credits"]})
        if f["earlier_fail_reasons"] >= policy.repeat_fail_count:
            fired.append("repeated_failures_keep_credits")
            actions.append(
                {
                    "type": "ticket_note",
                    "text": "Credits kept: the vendor repeatedly fails orders "
                    f"({f['earlier_fail_reasons']} earlier fail reasons in the window)",
                }
            )
        if any(complaints):
            raise NotModelled("a customer-fault verdict with a complaint on record")
    else:
        outcome = "failed_vendor_fault"
        fired.append("vendor_fault_keeps_credits_and_strikes")
        actions.append({"type": "sla_strike"})
        status = f["vendor_status"]
        if f["strikes_if_vendor_fault"] >= policy.strike_hold_count and status == "active":
            fired.append("strikes_reach_hold_count")
            actions.append({"type": "hold_vendor"})
        if f["strikes_if_vendor_fault"] >= policy.strike_deactivate_count and status in (
            "active",
            "on_hold",
        ):
            fired.append("strikes_reach_deactivation_count")
            actions.append({"type": "deactivation_review"})
        if f["reason_class"] == "fraud" or f["reason"] == "fraud_suspicion":
            raise NotModelled("a fraud verdict")
    fired.append("notify_vendor_of_final_decision")
    actions.append({"type": "notify", "audience": "vendor", "template": "fail_decision"})
    return outcome, actions, fired


async def file(
    connection: asyncpg.Connection, config: Config, order_id: str, body: FailReasonIn
) -> Row:
    actor = config.actors["ops"]
    vendor = await connection.fetchrow(LOCK_VENDOR_OF_ORDER, order_id)
    if vendor is None:
        raise Refused(404, f"No order {order_id}; the order system must PUT it first.")
    row = await connection.fetchrow(ORDER_WITH_RECORD, *_record_args(config, order_id, None))
    if row["vendor_id"] != vendor["id"] or body.vendor_paid_customer:
        raise NotModelled("an order that moved vendor, or a vendor that paid the customer")
    cls = _class_of(config, body.reason)
    if row["pickup_status"] == "completed" or row["status"] != "open" or row["payout_dispute"]:
        raise Refused(409, f"Order {order_id} cannot be failed.")
    facts = facts_of(config, row, vendor, body.reason, IMPLIED[cls])
    now: datetime = vendor["now"]
    case = new_case(
        case_type="fail_reason",
        order_id=order_id,
        vendor_id=vendor["id"],
        status="pending_review",
        category="to_be_failed_review",
        ticket_status="pending_review",
        priority="high" if cls in ("fraud", "disputed") else "normal",
        assignee_team="ops",
        details={
            **body.model_dump(),
            "amount_paid_to_customer": None,
            "filed_by": actor.key,
            "filed_by_name": actor.name,
        },
        reason=body.reason,
    )
    writes = Writes(now)
    writes.emit(case, "case.opened", case_type="fail_reason", reason=body.reason)
    writes.deadline(case, "resolution", now + timedelta(hours=config.policy.resolution_hours))
    writes.emit(case, "order.status_changed", status="to_be_failed", previous="open")
    outcome, actions, fired = decide(config, facts)
    writes.record(
        config,
        case,
        stage="proposed",
        outcome=outcome,
        actions=actions,
        rules_fired=fired,
        facts=facts,
        decided_by={"kind": "rules", "actor": actor.key, "name": actor.name, "role": None},
    )
    await insert_case(connection, case)
    await writes.flush(connection)
    await connection.execute(
        "UPDATE orders SET status = 'to_be_failed', updated_at = now() WHERE id = $1", order_id
    )
    return answer(case, now, now, writes.decisions, writes.deadlines)


async def verdict(
    connection: asyncpg.Connection, config: Config, case_id: str, body: VerdictIn
) -> Row:
    actor = config.actors["ops"]
    vendor = await connection.fetchrow(LOCK_VENDOR_OF_CASE, case_id)
    row = await connection.fetchrow(CASE_WITH_RECORD, *_record_args(config, case_id, case_id))
    if row is None or vendor is None:
        raise Refused(404, f"No fail reason {case_id}.")
    case = from_json(dict(row["case_row"]), *TIMES)
    if case["case_type"] != "fail_reason":
        raise Refused(404, f"No fail reason {case_id}.")
    if case["status"] != "pending_review":
        raise Refused(409, f"Case {case_id} is already decided.")
    reason = body.reason or case["details"]["reason"]
    cls = _class_of(config, reason)
    if body.fault not in ALLOWED[cls]:
        raise Refused(422, f"fault '{body.fault}' contradicts the reason '{reason}'.")
    if body.vendor_paid_customer or case["details"].get("amount_paid_to_customer"):
        raise NotModelled("a verdict on a payment to the customer")
    now: datetime = vendor["now"]
    facts = facts_of(config, row, vendor, reason, body.fault)
    case["details"] = {
        **case["details"],
        "verdict": {
            "fault": body.fault,
            "reason": reason,
            "checks": body.checks,
            "vendor_paid_customer": False,
            "amount_paid_to_customer": None,
            "by": actor.key,
            "name": actor.name,
        },
    }
    case["reason"] = reason
    outcome, actions, fired = decide(config, facts)
    for action in actions:
        if action["type"] == "credit_refund":
            if row["credits_refunded_on_order"] + action["amount"] > row["unlock_credits"]:
                raise Refused(409, "The credit refund is more than the vendor paid.")
    writes = Writes(now)
    decision = writes.record(
        config,
        case,
        stage="final",
        outcome=outcome,
        actions=actions,
        rules_fired=fired,
        facts=facts,
        decided_by={
            "kind": "rules",
            "verdict_by": actor.key,
            "name": actor.name,
            "fault": body.fault,
            "reason": reason,
            "checks": body.checks,
            "note": body.note,
            "role": actor.role,
        },
    )
    standing = {"status": vendor["status"], "credits_refunded": vendor["credits_refunded"]}
    for index, action in enumerate(actions):
        kind = action["type"]
        if kind == "ticket_note":
            case["notes"] = [*case["notes"], {"text": action["text"], "by": "rules"}]
        elif kind == "notify":
            writes.emit(
                case, "notification.requested", audience="vendor", template=action["template"]
            )
        else:
            entry = writes.entry(case, decision, index, action, actor)
            if kind == "credit_refund":
                standing["credits_refunded"] += entry["amount"]
            elif kind in ("hold_vendor", "deactivation_review"):
                status = "on_hold" if kind == "hold_vendor" else kind
                if STATUS_ORDER.index(status) > STATUS_ORDER.index(standing["status"]):
                    standing["status"] = status
    if standing["status"] != vendor["status"]:
        writes.emit(
            case, "vendor.status_changed", previous=vendor["status"], status=standing["status"]
        )
    case.update(status="resolved", resolved_at=now, ticket_status=outcome)
    writes.emit(case, "case.resolved", outcome=outcome)
    writes.emit(case, "order.status_changed", status="failed", previous="to_be_failed")
    await update_case(connection, case)
    await writes.flush(connection)
    if standing != {"status": vendor["status"], "credits_refunded": vendor["credits_refunded"]}:
        await connection.execute(
            "UPDATE vendors SET status = $2, credits_refunded = $3, updated_at = now()"
            " WHERE id = $1",
            vendor["id"],
            standing["status"],
            standing["credits_refunded"],
        )
    settled = {d["id"]: dict(d) for d in await connection.fetch(SETTLE, case_id, "")}
    if any(d["outcome"] == "missed" for d in settled.values()):
        raise NotModelled("a resolution past its deadline (a breach)")
    await connection.execute(
        "UPDATE orders SET status = 'failed', updated_at = now() WHERE id = $1", case["order_id"]
    )
    earlier = [from_json(d, "decided_at") for d in row["decisions"]]
    clocks = [
        settled.get(d["id"]) or from_json(d, "due_at", "settled_at") for d in row["deadlines"]
    ]
    return answer(case, case["created_at"], now, [*earlier, *writes.decisions], clocks)
