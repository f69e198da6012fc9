"""Settlements in sequence and in races never meet uq_ledger_settles_once: one settlement per
entry whatever its kind. Legitimate flows through HTTP that settle, reject, reverse and
decide again, one after another and at once, must never meet the index (a 500)."""

import asyncio
from typing import Any

from httpx import AsyncClient, Response

from tests.conftest import Headers, KeyMaker
from tests.factories import (
    HIGH,
    file_fail_reason,
    ledger,
    open_dispute,
    override,
    payment_record,
    payout,
    post_records,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
)


def _no_500(*answers: Any) -> None:
    bad = [a for a in answers if not isinstance(a, Response) or a.status_code >= 500]
    assert not bad, [getattr(a, "text", a) for a in bad]


def _settled_twice(entries: list[dict[str, Any]]) -> list[str]:
    seen: dict[str, int] = {}
    for e in entries:
        if e["settles_entry_id"]:
            seen[e["settles_entry_id"]] = seen.get(e["settles_entry_id"], 0) + 1
    return [k for k, n in seen.items() if n > 1]


async def test_reject_decide_again_reject_again_override_then_approve_never_500(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
) -> None:
    finance = await make_key("finance_manager", name="F One")
    manager = await make_key("ops_manager", name="M Two")
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "not_paid")
    for round_ in range(3):
        waiting = [
            p
            for p in (await client.get("/v1/payouts", headers=finance)).json()["items"]
            if p["status"] == "pending_approval"
        ]
        assert len(waiting) == 1, (round_, waiting)
        rejected = await client.post(
            f"/v1/payouts/{waiting[0]['id']}/reject", json={"reason": "no"}, headers=finance
        )
        _no_500(rejected)
        assert rejected.status_code == 200, rejected.text
        # The ops manager decides again, with a payout of finance's size again.
        decided = await override(
            client, manager, case["id"], "resolved_paid_by_platform", payout(HIGH)
        )
        _no_500(decided)
        assert decided.status_code == 200, decided.text
    # A second override while the fourth payout waits cancels it (a reversal).
    again = await override(client, manager, case["id"], "resolved_paid_by_platform", payout(HIGH))
    _no_500(again)
    assert again.status_code == 200, again.text
    [last] = [
        p
        for p in (await client.get("/v1/payouts", headers=finance)).json()["items"]
        if p["status"] == "pending_approval"
    ]
    approved = await client.post(f"/v1/payouts/{last['id']}/approve", json={}, headers=finance)
    _no_500(approved)
    assert approved.status_code == 200, approved.text
    statuses = sorted(
        p["status"] for p in (await client.get("/v1/payouts", headers=finance)).json()["items"]
    )
    assert statuses == ["cancelled", "rejected", "rejected", "rejected", "released"], statuses
    for status in ("pending_approval", "released", "rejected", "cancelled"):
        listed = (await client.get(f"/v1/payouts?status={status}", headers=finance)).json()
        assert all(p["status"] == status for p in listed["items"]), listed
    # Money that left: a later decision is 409, never 500.
    late = await override(client, manager, case["id"], "resolved_paid")
    _no_500(late)
    assert late.status_code == 409, late.text
    assert _settled_twice(await ledger(client, service)) == []


async def test_approve_reject_overrides_and_a_payment_record_at_once_never_500(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
) -> None:
    finance = await make_key("finance_manager", name="F One")
    finance2 = await make_key("finance_manager", name="F Three")
    manager = await make_key("ops_manager", name="M Two")
    for round_ in range(6):
        order = f"ORD-R{round_}"
        await put_completed_order(
            client, service, order, vendor_id="V-1", final_invoice_amount=HIGH
        )
        case = await open_dispute(client, support, order)
        await vendor_response(client, ops, case["id"], "not_paid")
        [pay] = [
            e
            for e in await ledger(client, service)
            if e["kind"] == "platform_payout" and e["case_id"] == case["id"]
        ]
        answers = await asyncio.gather(
            client.post(f"/v1/payouts/{pay['id']}/approve", json={}, headers=finance),
            client.post(f"/v1/payouts/{pay['id']}/reject", json={"reason": "x"}, headers=finance2),
            override(client, manager, case["id"], "resolved_paid"),
            override(client, manager, case["id"], "resolved_paid_by_platform", payout(HIGH)),
            post_records(
                client,
                service,
                payment_record(order, f"PAY-{round_}", HIGH // 2, direction="to_customer"),
            ),
            return_exceptions=True,
        )
        # post_records answers its JSON (it asserts 200 itself); the others are responses.
        _no_500(*[a for a in answers if not isinstance(a, dict)])
        # Then whatever waits is settled, and the manager decides once more.
        for p in (await client.get("/v1/payouts", headers=finance)).json()["items"]:
            if p["status"] == "pending_approval":
                _no_500(
                    await client.post(f"/v1/payouts/{p['id']}/reject", json={}, headers=finance),
                    await client.post(f"/v1/payouts/{p['id']}/approve", json={}, headers=finance2),
                )
        _no_500(await override(client, manager, case["id"], "resolved_valid_deduction"))
    assert _settled_twice(await ledger(client, service)) == []


async def test_a_wallet_refund_withdrawn_given_again_released_and_raced_never_500(
    client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    manager = await make_key("ops_manager", name="M Two")
    for round_ in range(4):
        order = f"ORD-W{round_}"
        await put_order(client, service, order, vendor_id="V-1", unlock_credits=40)
        case = await file_fail_reason(
            client,
            ops,
            order,
            "customer_changed_mind",
            vendor_paid_customer=True,
            amount_paid_to_customer=900_000,
        )
        await verdict(client, ops, case["id"], "customer", vendor_paid_customer=True)
        [first] = [
            e
            for e in await ledger(client, service)
            if e["kind"] == "wallet_refund_eligible" and e["case_id"] == case["id"]
        ]
        # Withdrawn by an override, given back by another, then released and raced.
        _no_500(await override(client, manager, case["id"], "failed_vendor_fault"))
        back = await override(
            client,
            manager,
            case["id"],
            "failed_customer_fault",
            {"type": "wallet_refund_eligible", "amount": 900_000},
        )
        _no_500(back)
        assert back.status_code == 200, back.text
        again = [
            e
            for e in await ledger(client, service)
            if e["kind"] == "wallet_refund_eligible"
            and e["case_id"] == case["id"]
            and e["id"] != first["id"]
        ]
        answers = await asyncio.gather(
            client.post(f"/v1/wallet-refunds/{first['id']}/release", json={}, headers=ops),
            *[
                client.post(f"/v1/wallet-refunds/{e['id']}/release", json={}, headers=ops)
                for e in again
            ],
            *[
                client.post(f"/v1/wallet-refunds/{e['id']}/release", json={}, headers=ops)
                for e in again
            ],
            override(client, manager, case["id"], "failed_vendor_fault"),
        )
        _no_500(*answers)
        assert answers[0].status_code == 409, answers[0].text
        assert len(again) == 1, again
        released = [a.status_code for a in answers[1:3]]
        assert sorted(released) in ([200, 409], [409, 409]), [a.text for a in answers]
        listed = (await client.get("/v1/wallet-refunds", headers=ops)).json()["items"]
        assert all(w["status"] in ("eligible", "released", "withdrawn") for w in listed)
    assert _settled_twice(await ledger(client, service)) == []
