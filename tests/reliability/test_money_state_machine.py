"""Hypothesis searches random sequences of requests, and pairs of them at once, for a way to
make money leave twice, unbounded or unapproved, or to leave a case or a vendor in a state
its ledger contradicts. After every step the invariants of tests/reliability/
money_invariants.py are checked over the tables, and the vendors through the API.

A real server on its own database, driven over HTTP as clients drive it. The budget is small
and fixed in CI; STATEFUL_EXAMPLES and STATEFUL_STEPS run it deeper (see the README). Every
counterexample it found is a plain regression test in tests/api/test_money_once.py.
"""

import asyncio
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.db import asyncpg_dsn, new_key
from tests.domain import CUSTOMER_CODES, DISPUTED_CODES, FRAUD_CODES, VENDOR_CODES
from tests.reliability.money_invariants import POLICY, broken_at
from tests.server import Server, env_with, serving

EXAMPLES = int(os.environ.get("STATEFUL_EXAMPLES", "12"))
STEPS = int(os.environ.get("STATEFUL_STEPS", "14"))

ORDERS = ["ORD-A", "ORD-B", "ORD-C", "ORD-D"]
VENDORS = ["V-1", "V-2"]
THRESHOLD = POLICY.high_value_threshold
INVOICES = [1, 150_000, THRESHOLD - 1, THRESHOLD, 2_000_000]
AMOUNTS = st.one_of(
    st.sampled_from([0, 1, 50_000, 100_000, THRESHOLD - 1, THRESHOLD, 10**12]),
    st.integers(min_value=0, max_value=10**12),
)
# A dispute's final outcomes, the ones an override may choose.
DISPUTE_OUTCOMES = ["resolved_paid", "resolved_valid_deduction", "resolved_paid_by_platform"]
OUTCOMES = [
    "awaiting_vendor",
    "escalated_pending_manager",
    "resolved_paid",
    "resolved_valid_deduction",
    "resolved_paid_by_platform",
    "pending_verdict",
    "failed_customer_fault",
    "failed_vendor_fault",
    "escalated_to_cx",
    "refund",
]
# Every answer of the run, to see what the search reached (printed with -s).
SEEN: list[tuple[str, int]] = []
TABLES = (
    "cases, decisions, deadlines, ledger_entries, events, orders, vendors, payment_records, "
    "idempotency_records, case_feedback"
)


def _action() -> st.SearchStrategy[dict[str, Any]]:
    amount_actions = st.sampled_from(
        ["platform_payout", "wallet_refund_eligible", "credit_refund", "credit_fine"]
    ).flatmap(
        lambda kind: st.builds(
            lambda amount, approval: (
                {"type": kind, "amount": amount}
                | ({"requires_approval": approval} if kind == "platform_payout" else {})
            ),
            st.integers(min_value=0, max_value=10**12 if "credit" not in kind else 10**9),
            st.booleans(),
        )
    )
    plain = st.sampled_from(
        [
            {"type": "sla_strike"},
            {"type": "hold_vendor"},
            {"type": "deactivation_review"},
            {"type": "block_new_leads"},
            {"type": "unblock_new_leads"},
            {"type": "flag_vendor", "reason": "checked"},
            {"type": "reduce_max_leads", "by": 3},
            {"type": "escalate", "to": "ops_manager"},
        ]
    )
    return st.one_of(amount_actions, plain)


class Money(RuleBasedStateMachine):
    """Each example starts from empty tables (the keys kept) on the one server."""

    server: Server
    database_url: str
    keys: dict[str, dict[str, str]]

    # Disputes and fail reasons apart, so that each rule draws the cases it applies to: the
    # search then reaches vendor answers, payouts and approvals instead of 404s.
    disputes = Bundle("disputes")
    failing = Bundle("failing")
    # The platform payouts the steps made, for finance to settle (each at most once, so most
    # second tries are 409s, which is what must hold).
    payouts = Bundle("payouts")

    def __init__(self) -> None:
        super().__init__()
        self.http = httpx.Client(base_url=self.server.base, timeout=30)
        self.answers: list[tuple[str, int]] = []

    # --- set-up ---------------------------------------------------------------------------

    @initialize(
        invoices=st.lists(st.sampled_from(INVOICES), min_size=len(ORDERS), max_size=len(ORDERS)),
        # Mostly not marked paid: an order the vendor marked paid in full takes no dispute.
        paid=st.lists(
            st.one_of(st.none(), st.none(), AMOUNTS), min_size=len(ORDERS), max_size=len(ORDERS)
        ),
    )
    def orders(self, invoices: list[int], paid: list[int | None]) -> None:
        """Empty tables, then the orders: two picked up (disputes may follow), two not
        (fail reasons may follow), over two vendors."""
        asyncio.run(_execute(self.database_url, f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE"))
        self.invoices = dict(zip(ORDERS, invoices, strict=True))
        for n, order in enumerate(ORDERS):
            pickup = "completed" if n % 2 == 0 else "scheduled"
            body = _order(_vendor(order), invoices[n], pickup, paid[n], n % 3 == 0, None)
            self._send("PUT", f"/v1/orders/{order}", "service", body)

    def teardown(self) -> None:
        self.http.close()
        SEEN.extend(self.answers)

    def _send(self, method: str, path: str, role: str, body: Any = None) -> httpx.Response:
        response = self.http.request(method, path, json=body, headers=self.keys[role])
        self.answers.append((f"{method} {path}", response.status_code))
        assert response.status_code < 500, (method, path, body, response.text)
        return response

    def _ids(self, query: str, *args: Any) -> list[str]:
        return asyncio.run(_fetch_ids(self.database_url, query, *args))

    # --- the order system -----------------------------------------------------------------

    @rule(
        order=st.sampled_from(ORDERS),
        vendor=st.sampled_from(VENDORS),
        invoice=st.sampled_from(INVOICES),
        pickup=st.sampled_from(["scheduled", "completed", "cancelled"]),
        paid=st.one_of(st.none(), AMOUNTS),
        reference=st.booleans(),
        note=st.one_of(st.none(), st.sampled_from([1, 50_000, 10**12])),
    )
    def put_order(
        self,
        order: str,
        vendor: str,
        invoice: int,
        pickup: str,
        paid: int | None,
        reference: bool,
        note: int | None,
    ) -> None:
        self._send(
            "PUT",
            f"/v1/orders/{order}",
            "service",
            _order(vendor, invoice, pickup, paid, reference, note),
        )

    @rule(
        order=st.sampled_from(ORDERS),
        amount=st.integers(min_value=1, max_value=10**12),
        status=st.sampled_from(["succeeded", "failed", "refunded", "charged_back"]),
        direction=st.sampled_from(["to_customer", "from_customer"]),
        reference=st.integers(min_value=1, max_value=6),
    )
    def payment_record(
        self, order: str, amount: int, status: str, direction: str, reference: int
    ) -> None:
        record = {
            "order_id": order,
            "reference": f"PAY-{order}-{reference}",
            "amount": amount,
            "status": status,
            "direction": direction,
            "occurred_at": "2026-11-21T10:00:00Z",
        }
        self._send("POST", "/v1/payment-records", "service", {"records": [record]})

    # --- cases ----------------------------------------------------------------------------

    @rule(
        target=failing,
        # Mostly the orders not picked up, where a fail reason belongs.
        order=st.sampled_from([*ORDERS[1::2] * 3, *ORDERS[0::2]]),
        code=st.sampled_from(CUSTOMER_CODES[:3] + VENDOR_CODES[:3] + FRAUD_CODES + DISPUTED_CODES),
        paid=st.sampled_from([None, None, 1, 50_000, 100_000, 10**12]),
    )
    def fail_reason(self, order: str, code: str, paid: int | None) -> Any:
        body: dict[str, Any] = {"reason": code, "explanation": "could not complete"}
        if paid is not None:
            body |= {"vendor_paid_customer": True, "amount_paid_to_customer": paid}
        response = self._send("POST", f"/v1/orders/{order}/fail-reasons", "ops", body)
        return _opened(response)

    @rule(
        target=disputes,
        # Mostly the orders picked up, where a dispute belongs.
        order=st.sampled_from([*ORDERS[0::2] * 3, *ORDERS[1::2]]),
        received=st.one_of(st.none(), AMOUNTS),
    )
    def dispute(self, order: str, received: int | None) -> Any:
        return _opened(self._open_dispute(order, received))

    def _open_dispute(self, order: str, received: int | None) -> httpx.Response:
        body = {
            "order_id": order,
            "claim": "not_paid" if received is None else "paid_less",
            "channel": "app",
            "customer": {"name": "Asha Rao", "phone": "+919812345678"},
            "summary": "not paid",
            **({} if received is None else {"amount_received": received}),
        }
        return self._send("POST", "/v1/payout-disputes", "support", body)

    @rule(
        case=failing,
        fault=st.sampled_from(["customer", "vendor"]),
        paid=st.sampled_from([None, None, False, 1, 50_000, 10**12]),
    )
    def verdict(self, case: str, fault: str, paid: int | bool | None) -> None:
        body: dict[str, Any] = {"fault": fault, "checks": ["call_logs"]}
        if paid is False:
            body["vendor_paid_customer"] = False
        elif isinstance(paid, int):
            body |= {"vendor_paid_customer": True, "amount_paid_to_customer": paid}
        self._send("POST", f"/v1/fail-reviews/{case}/verdict", "ops", body)

    @rule(
        target=payouts,
        case=disputes,
        response=st.sampled_from(["paid_full", "paid_partial", "not_paid", "denies"]),
        paid=AMOUNTS,
        proof=st.booleans(),
    )
    def vendor_answer(self, case: str, response: str, paid: int, proof: bool) -> Any:
        body: dict[str, Any] = {"response": response}
        if response == "paid_partial":
            body["amount_paid"] = paid
        if proof:
            body["proof"] = {"kind": "payment_proof", "ref": "UPI-1"}
        self._send("POST", f"/v1/payout-disputes/{case}/vendor-response", "ops", body)
        return self._payouts_of(case)

    @rule(target=payouts, case=disputes)
    def vendor_says_not_paid(self, case: str) -> Any:
        """The answer that makes the platform pay, so the search reaches payouts often."""
        body = {"response": "not_paid"}
        self._send("POST", f"/v1/payout-disputes/{case}/vendor-response", "ops", body)
        return self._payouts_of(case)

    @rule(target=payouts, invoice=st.sampled_from([THRESHOLD, 2_000_000]))
    def a_payout_for_finance(self, invoice: int) -> Any:
        """A high-value order, disputed and admitted unpaid: a payout waits for finance, so
        approvals, rejections and their races with every other rule are searched too."""
        order = f"ORD-H{len(self.answers)}"
        body = _order(VENDORS[0], invoice, "completed", None, False, None)
        self._send("PUT", f"/v1/orders/{order}", "service", body)
        opened = self._open_dispute(order, None)
        assert opened.status_code == 201, opened.text
        case = opened.json()["id"]
        answer = {"response": "not_paid"}
        self._send("POST", f"/v1/payout-disputes/{case}/vendor-response", "ops", answer)
        return self._payouts_of(case)

    def _payouts_of(self, case: str) -> Any:
        query = "SELECT id FROM ledger_entries WHERE kind = 'platform_payout' AND case_id = $1"
        return multiple(*self._ids(query, case))

    @rule(case=disputes)
    def vendor_clock_runs_out(self, case: str) -> None:
        """The vendor's time ends: its clock is made due and the server's watcher fires it."""
        asyncio.run(
            _execute(
                self.database_url,
                "UPDATE deadlines SET due_at = now() - interval '1 second' "
                "WHERE case_id = $1 AND kind = 'vendor_response' AND settled_at IS NULL",
                case,
            )
        )
        _wait_until(
            lambda: (
                not self._ids(
                    "SELECT id FROM deadlines WHERE case_id = $1 AND kind = 'vendor_response' "
                    "AND settled_at IS NULL AND due_at <= now()",
                    case,
                )
            )
        )

    @rule(
        target=payouts,
        case=disputes,
        outcome=st.sampled_from(DISPUTE_OUTCOMES),
        actions=st.lists(_action(), max_size=3),
        role=st.sampled_from(["ops", "ops_manager"]),
    )
    def override_a_dispute(
        self, case: str, outcome: str, actions: list[dict[str, Any]], role: str
    ) -> Any:
        body = {"outcome": outcome, "reason": "checked", "actions": actions}
        self._send("POST", f"/v1/cases/{case}/override", role, body)
        return self._payouts_of(case)

    @rule(
        case=failing,
        outcome=st.sampled_from(OUTCOMES),
        actions=st.lists(_action(), max_size=3),
        role=st.sampled_from(["ops", "ops_manager"]),
    )
    def override_a_fail_reason(
        self, case: str, outcome: str, actions: list[dict[str, Any]], role: str
    ) -> None:
        body = {"outcome": outcome, "reason": "checked", "actions": actions}
        self._send("POST", f"/v1/cases/{case}/override", role, body)

    @rule(
        target=payouts,
        case=disputes,
        finding=st.sampled_from(["vendor_paid_full", "valid_deduction", "vendor_at_fault"]),
        received=AMOUNTS,
        lift=st.booleans(),
    )
    def manager_decision(self, case: str, finding: str, received: int, lift: bool) -> Any:
        body = {"finding": finding, "amount_received": received, "lift_block": lift}
        self._send("POST", f"/v1/payout-disputes/{case}/manager-decision", "ops_manager", body)
        return self._payouts_of(case)

    @rule(
        payout=payouts,
        approve=st.booleans(),
        who=st.sampled_from(["finance_manager", "finance_two"]),
    )
    def settle_a_payout(self, payout: str, approve: bool, who: str) -> None:
        action = "approve" if approve else "reject"
        body = {} if approve else {"reason": "not owed"}
        self._send("POST", f"/v1/payouts/{payout}/{action}", who, body)

    @rule()
    def release_a_wallet_refund(self) -> None:
        for entry in self._ids(
            "SELECT id FROM ledger_entries WHERE kind = 'wallet_refund_eligible'"
        ):
            self._send("POST", f"/v1/wallet-refunds/{entry}/release", "ops", {})
            return

    @rule(
        vendor=st.sampled_from(VENDORS),
        action=st.sampled_from(
            [
                "unblock",
                "release_hold",
                "reinstate",
                "deactivate",
                "restore_max_leads",
                "clear_flags",
            ]
        ),
    )
    def standing(self, vendor: str, action: str) -> None:
        body = {"action": action, "reason": "reviewed"}
        self._send("POST", f"/v1/vendors/{vendor}/standing", "ops_manager", body)

    @rule(
        first=st.one_of(disputes, failing),
        second=disputes,
        outcome=st.sampled_from(OUTCOMES[2:5]),
        response=st.sampled_from(["paid_full", "not_paid", "denies"]),
    )
    def two_at_once(self, first: str, second: str, outcome: str, response: str) -> None:
        """Two requests on cases (often the same one) at the same moment."""
        payouts = self._ids("SELECT id FROM ledger_entries WHERE kind = 'platform_payout'")
        calls = [
            (
                "POST",
                f"/v1/cases/{first}/override",
                "ops_manager",
                {"outcome": outcome, "reason": "x", "actions": []},
            ),
            (
                "POST",
                f"/v1/payout-disputes/{second}/vendor-response",
                "ops",
                {"response": response},
            ),
        ]
        if payouts:
            calls.append(("POST", f"/v1/payouts/{payouts[-1]}/approve", "finance_manager", {}))
        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            list(pool.map(lambda call: self._send(*call), calls))

    # --- what must hold ---------------------------------------------------------------------

    @invariant()
    def money_and_state_hold(self) -> None:
        found = asyncio.run(broken_at(self.database_url))
        assert not found, (found, self.answers[-6:])

    @invariant()
    def vendors_read_as_their_ledger(self) -> None:
        for vendor in VENDORS:
            response = self.http.get(f"/v1/vendors/{vendor}", headers=self.keys["service"])
            if response.status_code == 404:
                continue
            body = response.json()
            assert body["receives_new_leads"] == (
                body["status"] == "active" and not body["new_leads_blocked"]
            )
            strikes = asyncio.run(_active_strikes(self.database_url, vendor))
            assert body["active_strikes"] == strikes


async def _connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(asyncpg_dsn(database_url))


async def _execute(database_url: str, statement: str, *args: Any) -> None:
    connection = await _connect(database_url)
    try:
        await connection.execute(statement, *args)
    finally:
        await connection.close()


async def _fetch_ids(database_url: str, query: str, *args: Any) -> list[str]:
    connection = await _connect(database_url)
    try:
        return [str(row[0]) for row in await connection.fetch(query, *args)]
    finally:
        await connection.close()


async def _active_strikes(database_url: str, vendor: str) -> int:
    connection = await _connect(database_url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM ledger_entries l WHERE l.vendor_id = $1 "
                "AND l.kind = 'sla_strike' AND l.created_at > now() - $2::float * interval '1 day' "
                "AND NOT EXISTS (SELECT 1 FROM ledger_entries r WHERE r.settles_entry_id = l.id "
                "AND r.kind = 'reversal')",
                vendor,
                POLICY.strike_expiry_days,
            )
        )
    finally:
        await connection.close()


def _vendor(order: str) -> str:
    return VENDORS[ORDERS.index(order) // 2]


def _opened(response: httpx.Response) -> Any:
    """A case opened goes to the bundle the other rules draw from; a refusal adds none."""
    return response.json()["id"] if response.status_code == 201 else multiple()


def _wait_until(done: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the watcher did not fire the clock in time"
        time.sleep(0.05)


def _order(
    vendor: str, invoice: int, pickup: str, paid: int | None, reference: bool, note: int | None
) -> dict[str, Any]:
    payment: dict[str, Any] = {"marked": paid is not None}
    if paid is not None:
        payment["amount"] = paid
        if reference:
            payment["reference"] = "UPI-REF-1"
    return {
        "vendor_id": vendor,
        "customer": {"name": "Asha Rao", "phone": "+919812345678"},
        "device": {"model": "iPhone XR", "variant": "128GB"},
        "unlock_credits": 40,
        "final_invoice_amount": invoice,
        "payment": payment,
        "pickup_notes": [] if note is None else [{"reason": "screen_damage", "amount": note}],
        "pickup_status": pickup,
    }


@pytest.fixture(scope="module")
def money_server(server_url: str) -> Iterator[tuple[Server, str, dict[str, dict[str, str]]]]:
    from tests.db import migrated_database

    with migrated_database(server_url, "dispute_money") as url:
        keys = {
            role: new_key(url, role)
            for role in ("ops", "ops_manager", "support", "service", "finance_manager")
        }
        keys["finance_two"] = new_key(url, "finance_manager")
        env = env_with(DATABASE_URL=url, WATCH_INTERVAL_SECONDS="0.1", API_KEY_CACHE_SECONDS="60")
        with serving(env) as server:
            yield server, url, keys


def test_no_sequence_of_requests_breaks_the_money_invariants(
    money_server: tuple[Server, str, dict[str, dict[str, str]]],
) -> None:
    server, url, keys = money_server
    Money.server, Money.database_url, Money.keys = server, url, keys
    run_state_machine_as_test(
        Money,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize="STATEFUL_EXAMPLES" not in os.environ,
            suppress_health_check=list(HealthCheck),
            database=None,
        ),
    )
    reached = Counter(
        (path.split("/")[2] if path.count("/") > 1 else path, status) for path, status in SEEN
    )
    print("\nanswers by resource and status:", dict(sorted(reached.items())))
