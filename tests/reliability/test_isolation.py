"""Keys keep callers apart: walked over every route the app has, so a new route is covered.

No route answers without a key but /health, /ready and the API description with Swagger UI
(PUBLIC_API_DOCS, true by default); each role reaches exactly the routes its rights allow
(ROUTE_ROLES, written out here from the domain's table rather than read from the code); a
vendor's key neither reads nor writes another vendor's orders, cases, decisions or ledger;
and no key ever reaches the service's logs.
"""

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from httpx import AsyncClient

from tests.conftest import Headers, KeyMaker
from tests.db import new_key
from tests.factories import (
    fail_reason_body,
    file_fail_reason,
    order_body,
    put_order,
    verdict,
    verdict_body,
)
from tests.server import env_with, serving

PUBLIC = {"/health", "/ready", "/openapi.json", "/docs", "/problems/{slug}"}
PARAM = re.compile(r"{(\w+)}")

ROLES = ("vendor", "support", "ops", "ops_manager", "finance_manager", "service")
EVERYONE = frozenset(ROLES)
OPS = frozenset({"ops", "ops_manager"})
WATCHERS = OPS | {"finance_manager", "service"}  # lists of decisions, events, reports

# Who may call each route. A new route fails the walk until it is added here.
ROUTE_ROLES: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/metrics"): WATCHERS,
    ("GET", "/v1/orders"): OPS | {"support", "finance_manager"},
    ("PUT", "/v1/orders/{order_id}"): OPS | {"service"},
    ("GET", "/v1/orders/{order_id}"): EVERYONE,
    ("POST", "/v1/orders/{order_id}/fail-reasons"): OPS | {"vendor"},
    ("POST", "/v1/fail-reviews/{case_id}/verdict"): OPS,
    ("POST", "/v1/wallet-refunds/{entry_id}/release"): OPS,
    ("GET", "/v1/vendors/{vendor_id}"): EVERYONE,
    ("GET", "/v1/vendors/{vendor_id}/ledger"): EVERYONE,
    ("POST", "/v1/vendors/{vendor_id}/standing"): frozenset({"ops_manager"}),
    ("POST", "/v1/payout-disputes/{case_id}/manager-decision"): frozenset({"ops_manager"}),
    ("GET", "/v1/payouts"): OPS | {"finance_manager", "service"},
    ("GET", "/v1/wallet-refunds"): OPS | {"finance_manager"},
    ("POST", "/v1/cases/{case_id}/notes"): OPS | {"support"},
    ("POST", "/v1/cases/{case_id}/assign"): OPS | {"support"},
    ("POST", "/v1/webhook-endpoints"): OPS,
    ("GET", "/v1/webhook-endpoints"): OPS,
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): OPS,
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): OPS,
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): OPS,
    ("POST", "/v1/payout-disputes"): OPS | {"support"},
    ("POST", "/v1/payout-disputes/{case_id}/vendor-response"): OPS | {"vendor"},
    ("GET", "/v1/payouts/{payout_id}"): EVERYONE,
    ("POST", "/v1/payouts/{payout_id}/approve"): frozenset({"finance_manager"}),
    ("POST", "/v1/payouts/{payout_id}/reject"): frozenset({"finance_manager"}),
    ("POST", "/v1/pickup-complaints"): OPS | {"support"},
    ("POST", "/v1/pickup-complaints/{case_id}/resolve"): OPS | {"support"},
    ("POST", "/v1/payment-records"): frozenset({"service"}),
    ("POST", "/v1/payment-discrepancies/{case_id}/resolve"): OPS,
    ("GET", "/v1/cases"): EVERYONE,
    ("GET", "/v1/cases/{case_id}"): EVERYONE,
    ("POST", "/v1/cases/{case_id}/override"): OPS,
    ("POST", "/v1/cases/{case_id}/feedback"): OPS | {"support"},
    ("GET", "/v1/decisions"): WATCHERS,
    ("POST", "/v1/decisions/simulate"): WATCHERS,
    ("GET", "/v1/decisions/{decision_id}"): EVERYONE,
    ("GET", "/v1/events"): WATCHERS,
    ("GET", "/v1/rulesets"): EVERYONE,
    ("GET", "/v1/reports/summary"): WATCHERS,
    ("GET", "/v1/reports/summary.csv"): WATCHERS,
}


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """(method, path template) of every route, however deeply its router was included."""
    for route in iter_route_contexts(app.routes):
        assert route.path is not None
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield method, route.path


# Bodies valid for each route, so a refusal cannot hide behind a 422: a route that answers
# another vendor's key with 422 instead of 403 needs its entry here. Others get {}.
BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/v1/orders/{order_id}"): order_body("V-B"),
    ("POST", "/v1/orders/{order_id}/fail-reasons"): fail_reason_body("customer_changed_mind"),
    ("POST", "/v1/fail-reviews/{case_id}/verdict"): verdict_body("customer"),
    ("POST", "/v1/wallet-refunds/{entry_id}/release"): {"note": "not mine"},
    ("POST", "/v1/payout-disputes/{case_id}/vendor-response"): {"response": "not_paid"},
    ("POST", "/v1/cases/{case_id}/notes"): {"text": "not mine"},
    ("POST", "/v1/cases/{case_id}/assign"): {"assignee": "someone"},
    # Would receive every vendor's events: refused by role, never by the body.
    ("POST", "/v1/webhook-endpoints"): {"url": "https://hooks.example.com/vendor-b"},
}

# Any well-formed id: without a key, nothing may be looked up at all.
NO_KEY_IDS = {
    name: "X_1"
    for name in ("order_id", "vendor_id", "case_id", "decision_id", "entry_id", "id", "payout_id")
}


def _fill(path: str, ids: dict[str, str]) -> tuple[str, bool]:
    """The path with ids put in, and whether every one of them names a real record (a
    parameter with no record of vendor A here gets a placeholder, which may be a 404)."""
    real = True

    def value(match: re.Match[str]) -> str:
        nonlocal real
        real = real and match.group(1) in ids
        return ids.get(match.group(1), "X_1")

    return PARAM.sub(value, path), real


async def test_no_route_but_the_public_ones_answers_without_a_key(
    app: FastAPI, client: AsyncClient
) -> None:
    public = set()
    for method, path in _routes(app):
        url, _ = _fill(path, NO_KEY_IDS)
        response = await client.request(method, url, json=BODIES.get((method, path), {}))
        if response.status_code != 401:
            public.add(path)
        else:
            assert response.headers["content-type"] == "application/problem+json"
    assert public == PUBLIC


async def _vendor_a(client: AsyncClient, service: Headers, ops: Headers) -> dict[str, str]:
    """Vendor A's order, open and decided cases, decision and ledger entry."""
    await put_order(client, service, "ORD-A1", vendor_id="V-A", payment={"amount": 90_000})
    await put_order(client, service, "ORD-A2", vendor_id="V-A")
    await put_order(client, service, "ORD-A3", vendor_id="V-A")
    decided = await file_fail_reason(
        client, ops, "ORD-A1", "customer_not_available", vendor_paid_customer=True
    )
    decided = await verdict(client, ops, decided["id"], "customer", vendor_paid_customer=True)
    pending = await file_fail_reason(client, ops, "ORD-A2", "intentional_delay")
    ledger = (await client.get("/v1/vendors/V-A/ledger", headers=service)).json()["items"]
    wallet = next(e["id"] for e in ledger if e["kind"] == "wallet_refund_eligible")
    return {
        "order_id": "ORD-A3",  # open: a fail reason filed on it would be a write
        "vendor_id": "V-A",
        "case_id": pending["id"],  # undecided: a verdict on it would be a write
        "id": pending["id"],
        "decision_id": decided["decision"]["id"],
        "entry_id": wallet,
    }


async def _snapshot(client: AsyncClient, service: Headers, ids: dict[str, str]) -> list[Any]:
    reads = [
        "/v1/vendors/V-A",
        "/v1/vendors/V-A/ledger?limit=100",
        *(f"/v1/orders/ORD-A{n}" for n in (1, 2, 3)),
        f"/v1/cases/{ids['case_id']}",
    ]
    return [(await client.get(url, headers=service)).json() for url in reads]


async def test_a_vendor_key_cannot_read_or_write_another_vendors_data(
    app: FastAPI, client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    ids = await _vendor_a(client, service, ops)
    before = await _snapshot(client, service, ids)
    other = await make_key("vendor", "V-B")
    a_ids = set(ids.values()) | {"ORD-A1", "ORD-A2"}
    for method, path in _routes(app):
        if path in PUBLIC:
            continue
        url, real = _fill(path, ids)
        body = BODIES.get((method, path), {})
        response = await client.request(method, url, json=body, headers=other)
        if response.is_success:
            # Only a listing may answer, and then with none of vendor A's records.
            assert not any(i in response.text for i in a_ids), (method, path, response.text)
        elif real:
            assert response.status_code == 403, (method, path, response.text)
    assert await _snapshot(client, service, ids) == before


async def test_each_role_reaches_exactly_the_routes_its_rights_allow(
    app: FastAPI, client: AsyncClient, service: Headers, ops: Headers, make_key: KeyMaker
) -> None:
    routes = {route for route in _routes(app) if route[1] not in PUBLIC}
    assert routes == set(ROUTE_ROLES), "a route without its roles in ROUTE_ROLES, or gone"
    ids = await _vendor_a(client, service, ops)
    # The vendor's key is vendor A's: where its role may act, the records are its own.
    keys = {role: await make_key(role, "V-A" if role == "vendor" else None) for role in ROLES}
    # Vendor A's own order: a write by one role must not move it away from the next.
    bodies = {**BODIES, ("PUT", "/v1/orders/{order_id}"): order_body("V-A")}
    wrong = []
    for method, path in sorted(routes):
        url, _ = _fill(path, ids)
        for role in ROLES:
            body = bodies.get((method, path), {})
            status = (await client.request(method, url, json=body, headers=keys[role])).status_code
            allowed = role in ROUTE_ROLES[(method, path)]
            if allowed and not (200 <= status < 500 and status not in (401, 403)):
                wrong.append(f"{role} {method} {path}: {status}, expected to be let in")
            if not allowed and status != 403:
                wrong.append(f"{role} {method} {path}: {status}, expected 403")
    assert wrong == [], "\n".join(wrong)


async def _calls_with_every_key(base: str, keys: dict[str, Headers]) -> None:
    """Successes, refusals, bad input and replays, with every key and some bad ones."""
    service, ops = keys["service"], keys["ops"]
    async with httpx.AsyncClient(base_url=base, timeout=10) as c:
        await put_order(c, service, "ORD-L1", vendor_id="V-A")
        for name, headers in keys.items():
            await c.get("/v1/orders/ORD-L1", headers=headers)
            await c.get("/v1/vendors/V-A/ledger", headers=headers)
            await c.get("/metrics", headers=headers)
            await c.put("/v1/orders/ORD-L2", json={"vendor_id": name}, headers=headers)
            await c.post(
                "/v1/orders/ORD-L1/fail-reasons",
                json=fail_reason_body("customer_changed_mind"),
                headers={**headers, "Idempotency-Key": "same"},
            )
            token = headers["Authorization"].removeprefix("Bearer ")
            # Keys where they do not belong: plain, in another header, in the body, in the URL.
            await c.get("/v1/events", headers={"Authorization": token})
            await c.get("/v1/events", headers={"X-Api-Key": token})
            await c.post("/v1/orders/ORD-L1/fail-reasons", json={"reason": token}, headers=ops)
            await c.get(f"/v1/orders/{token}", headers=ops)
            await c.get("/v1/events", headers={"Authorization": f"Bearer {token}x"})


def test_api_keys_never_reach_the_logs(own_database: str) -> None:
    keys = {
        "ops": new_key(own_database, "ops"),
        "service": new_key(own_database, "service"),
        "support": new_key(own_database, "support"),
        "ops_manager": new_key(own_database, "ops_manager"),
        "finance_manager": new_key(own_database, "finance_manager"),
        "vendor-a": new_key(own_database, "vendor", "V-A"),
        "vendor-b": new_key(own_database, "vendor", "V-B"),
    }
    env = env_with(DATABASE_URL=own_database, LOG_LEVEL="DEBUG")
    with serving(env) as server:
        asyncio.run(_calls_with_every_key(server.base, keys))
        server.stop()
        output = server.output()
    assert output.count('"request_id"') >= 10 * len(keys), "the requests were not logged"
    for name, headers in keys.items():
        token = headers["Authorization"].removeprefix("Bearer ")
        secret = token.removeprefix("dsk_")
        assert secret not in output, f"the {name} key is in the logs"
