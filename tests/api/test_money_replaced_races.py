"""What a new decision replaces, read with the case's rows (app.cases.case_rows), stays
exact when decisions race: overrides of one case at once, finance, wallet releases and
overrides on two cases of one vendor, the watcher firing meanwhile, replays of one key; and
what a transaction remembers equals a fresh read through its adds and savepoints."""

import asyncio

from fastapi import FastAPI
from httpx import AsyncClient, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.cases import deadlines
from tests.conftest import Headers, KeyMaker
from tests.factories import (
    HIGH,
    SMALL,
    file_fail_reason,
    ledger,
    open_dispute,
    override,
    paid_out,
    payout,
    put_completed_order,
    put_order,
    vendor_response,
    verdict,
)
from tests.reliability.money_invariants import holds


async def test_two_overrides_of_one_case_at_once(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    make_key: KeyMaker,
    database_url: str,
) -> None:
    manager = await make_key("ops_manager", name="M One")
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(
        client,
        ops,
        "ORD-1",
        "customer_changed_mind",
        vendor_paid_customer=True,
        amount_paid_to_customer=900_000,
    )
    await verdict(client, ops, case["id"], "customer", vendor_paid_customer=True)
    for _ in range(4):
        answers = await asyncio.gather(
            override(client, manager, case["id"], "failed_vendor_fault", {"type": "sla_strike"}),
            override(client, manager, case["id"], "failed_customer_fault"),
            override(client, manager, case["id"], "failed_vendor_fault"),
        )
        assert [a.status_code for a in answers] == [200, 200, 200], [a.text for a in answers]
        await holds(database_url)


async def test_approval_wallet_release_and_overrides_race_on_two_cases_of_one_vendor(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    make_key: KeyMaker,
    database_url: str,
) -> None:
    finance = await make_key("finance_manager", name="F One")
    manager = await make_key("ops_manager", name="M Two")
    for round_ in range(3):
        dispute_order, fail_order = f"ORD-D{round_}", f"ORD-F{round_}"
        await put_completed_order(
            client, service, dispute_order, vendor_id="V-1", final_invoice_amount=HIGH
        )
        await put_order(client, service, fail_order, vendor_id="V-1", unlock_credits=40)
        dispute = await open_dispute(client, support, dispute_order)
        fail = await file_fail_reason(
            client,
            ops,
            fail_order,
            "customer_changed_mind",
            vendor_paid_customer=True,
            amount_paid_to_customer=900_000,
        )
        await verdict(client, ops, fail["id"], "customer", vendor_paid_customer=True)
        await vendor_response(client, ops, dispute["id"], "not_paid")
        entries = await ledger(client, service)
        [pay] = [
            e for e in entries if e["kind"] == "platform_payout" and e["case_id"] == dispute["id"]
        ]
        [wallet] = [
            e
            for e in entries
            if e["kind"] == "wallet_refund_eligible" and e["case_id"] == fail["id"]
        ]
        answers = await asyncio.gather(
            client.post(f"/v1/payouts/{pay['id']}/approve", json={}, headers=finance),
            override(client, manager, dispute["id"], "resolved_paid"),
            client.post(f"/v1/wallet-refunds/{wallet['id']}/release", json={}, headers=ops),
            override(client, manager, fail["id"], "failed_vendor_fault"),
            override(client, manager, dispute["id"], "resolved_paid_by_platform", payout(HIGH)),
        )
        assert all(a.status_code in (200, 403, 409) for a in answers), [a.text for a in answers]
        assert all(a.status_code != 503 for a in answers)
        await holds(database_url)


async def test_the_watcher_fires_while_decisions_of_the_same_cases_run(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    app: FastAPI,
    make_key: KeyMaker,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    manager = await make_key("ops_manager", name="M Three")
    case_ids = []
    for n in range(3):
        order_id = f"ORD-W{n}"
        await put_completed_order(
            client, service, order_id, vendor_id="V-1", final_invoice_amount=SMALL
        )
        case_ids.append((await open_dispute(client, support, order_id))["id"])
    async with sessionmaker() as session, session.begin():
        await session.execute(
            text("UPDATE deadlines SET due_at = now() - interval '1 hour' WHERE settled_at IS NULL")
        )

    async def fire() -> int:
        async with sessionmaker() as session, session.begin():
            return await deadlines.fire_due(session, app.state.rules_engine, "attack", 50)

    answers = await asyncio.gather(
        fire(),
        client.post(
            f"/v1/payout-disputes/{case_ids[0]}/vendor-response",
            json={"response": "not_paid"},
            headers=ops,
        ),
        override(client, manager, case_ids[1], "resolved_paid_by_platform", payout(SMALL)),
        fire(),
        override(client, manager, case_ids[2], "resolved_paid"),
        return_exceptions=True,
    )
    for answer in answers:
        assert not isinstance(answer, BaseException), answer
        if isinstance(answer, Response):
            assert answer.status_code in (200, 409), answer.text
    await holds(database_url)
    # What the watcher escalated, the manager overrides again; the payouts stay once.
    for case_id in case_ids:
        again = await override(client, manager, case_id, "resolved_paid_by_platform", payout(SMALL))
        assert again.status_code in (200, 409), again.text
        await holds(database_url)
    entries = await ledger(client, service)
    for case_id in case_ids:
        order = (
            next(e["order_id"] for e in entries if e["case_id"] == case_id)
            if any(e["case_id"] == case_id for e in entries)
            else None
        )
        if order:
            assert paid_out([e for e in entries if e["order_id"] == order]) <= SMALL


async def test_an_idempotent_override_replayed_at_once_applies_once(
    client: AsyncClient,
    service: Headers,
    ops: Headers,
    ops_manager: Headers,
    database_url: str,
) -> None:
    await put_order(client, service, "ORD-1", vendor_id="V-1", unlock_credits=40)
    case = await file_fail_reason(client, ops, "ORD-1", "customer_changed_mind")
    await verdict(client, ops, case["id"], "customer")
    headers = {**ops_manager, "Idempotency-Key": "attack-13"}
    body = {"outcome": "failed_vendor_fault", "reason": "x", "actions": [{"type": "sla_strike"}]}
    answers = await asyncio.gather(
        *[
            client.post(f"/v1/cases/{case['id']}/override", json=body, headers=headers)
            for _ in range(3)
        ]
    )
    assert all(a.status_code in (200, 409) for a in answers), [a.text for a in answers]
    await holds(database_url)
    entries = await ledger(client, service)
    assert [e["kind"] for e in entries].count("sla_strike") == 1


async def test_one_watcher_batch_fires_every_clock_of_a_dispute_then_the_manager_decides(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    app: FastAPI,
    make_key: KeyMaker,
    database_url: str,
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    """One transaction decides the same case in several savepoints (vendor's answer missed,
    then its resolution breached): each must read the case's entries its earlier one made."""
    manager = await make_key("ops_manager", name="M Four")
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=SMALL)
    case = await open_dispute(client, support, "ORD-1")
    async with sessionmaker() as session, session.begin():
        for kind, hours in (("vendor_response", 3), ("customer_update", 2), ("resolution", 1)):
            await session.execute(
                text(
                    "UPDATE deadlines SET due_at = now() - make_interval(hours => :hours)"
                    " WHERE case_id = :case_id AND kind = :kind"
                ),
                {"hours": hours, "case_id": case["id"], "kind": kind},
            )
    async with sessionmaker() as session, session.begin():
        assert await deadlines.fire_due(session, app.state.rules_engine, "attack", 50) == 3
    await holds(database_url)
    for outcome, actions in (
        ("resolved_paid_by_platform", [payout(SMALL // 2)]),
        ("resolved_paid", []),
        ("resolved_paid_by_platform", [payout(SMALL)]),
    ):
        answer = await override(client, manager, case["id"], outcome, *actions)
        assert answer.status_code in (200, 409), answer.text
        await holds(database_url)
    assert paid_out(await ledger(client, service)) <= SMALL
