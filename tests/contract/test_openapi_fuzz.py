"""Schemathesis against the committed openapi.yaml, on a real running service.

Every operation gets generated valid and invalid input: the service must never answer 5xx,
and every answer must match the documented status codes, content types and schemas.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.settings import PROJECT_ROOT
from tests.db import migrated_database
from tests.factories import order_body
from tests.server import env_with, run, serving

schema = schemathesis.openapi.from_path(PROJECT_ROOT / "openapi.yaml")
KEYS: dict[str, str] = {}


@schema.auth(refresh_interval=None)
class ApiKeyAuth:
    """Hands Schemathesis a valid key per operation, so its own checks of missing and
    invalid credentials still run against the real auth."""

    def get(self, case: schemathesis.Case[Any], context: object) -> str:
        # Collection asks before the service is up; the real key is read at call time.
        return KEYS.get("service" if case.operation.method.upper() == "PUT" else "ops", "")

    def set(self, case: schemathesis.Case[Any], data: str, context: object) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


@pytest.fixture(scope="module")
def live(server_url: str) -> Iterator[str]:
    # A database of its own: what other tests left (an order with cases) cannot refuse its
    # set-up.
    with migrated_database(server_url, "dispute_fuzz") as database_url:
        yield from _serve(database_url)


def _serve(database_url: str) -> Iterator[str]:
    # No webhook sender: generated endpoints name hosts that must never be called.
    env = env_with(
        DATABASE_URL=database_url, LOG_LEVEL="WARNING", WEBHOOK_POLL_INTERVAL_SECONDS="0"
    )
    for role in ("ops", "service"):
        KEYS[role] = run(
            "keys", "create", "--role", role, "--name", f"fuzz {role}", env=env
        ).stdout.strip()
    with serving(env) as server:
        import httpx

        base = server.base
        service = {"Authorization": f"Bearer {KEYS['service']}"}
        # Something real to find, so generated ids sometimes hit a row.
        httpx.put(f"{base}/v1/orders/ORD-1", json=order_body(), headers=service).raise_for_status()
        yield base


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_answers_match_the_schema(
    case: schemathesis.Case[Any], live: str
) -> None:
    # Schema-valid bodies may still break a domain rule the contract answers with 422
    # (a paid_less claim with no shortfall, a paid vendor with no amount), so "valid data is
    # accepted" is not a property of this API; every other check runs.
    case.call_and_validate(base_url=live, excluded_checks=[positive_data_acceptance])
