"""The references served: ``uvicorn bench.reference.app:app --workers N`` with
``REFERENCE_DATABASE_URL`` naming a database the service has migrated, and a key of each role
the paths act as (the latest of each role is taken once at start-up: there is no auth)."""

import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.fail_reasons.schemas import FailReasonIn, VerdictIn
from app.payout_disputes.schemas import PayoutDisputeIn, VendorResponseIn
from app.pickup_complaints.schemas import PickupComplaintIn
from app.settings import Settings
from bench.reference import complaints, disputes, filing
from bench.reference.common import Actor, Config, NotModelled, Refused, Row

ACTORS = """
SELECT DISTINCT ON (role) role, id, name FROM api_keys
WHERE revoked_at IS NULL ORDER BY role, created_at DESC"""


async def _codecs(connection: asyncpg.Connection) -> None:
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


def database_url_of(url: str) -> str:
    """asyncpg's form of a URL SQLAlchemy's may name."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def start(url: str, settings: Settings) -> tuple[asyncpg.Pool, Config]:
    from app.cases.registry import build_rules

    # As many connections per process as the service may open.
    pool = await asyncpg.create_pool(
        url,
        min_size=settings.db_pool_size,
        max_size=settings.db_pool_size + settings.db_max_overflow,
        init=_codecs,
    )
    rows = await pool.fetch(ACTORS)
    actors = {r["role"]: Actor(f"{r['role']}:{r['id']}", r["name"], r["role"]) for r in rows}
    return pool, Config(engine=build_rules(settings.rules_dir, os.environ), actors=actors)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.pool, app.state.config = await start(
        database_url_of(os.environ["REFERENCE_DATABASE_URL"]), Settings()
    )
    try:
        yield
    finally:
        await app.state.pool.close()


Path = Callable[[asyncpg.Connection, Config], Awaitable[Row]]


async def run(request: Request, path: Path, status: int) -> JSONResponse:
    """One transaction; a refusal or a path not modelled rolls it back."""
    try:
        async with request.app.state.pool.acquire() as connection, connection.transaction():
            body = await path(connection, request.app.state.config)
    except Refused as refused:
        return JSONResponse({"detail": refused.detail}, status_code=refused.status)
    except NotModelled as exc:
        return JSONResponse({"detail": f"not modelled by the reference: {exc}"}, 501)
    return JSONResponse(body, status_code=status)


app = FastAPI(lifespan=lifespan)


@app.get("/ready")
async def ready(request: Request) -> dict[str, str]:
    await request.app.state.pool.fetchval("SELECT 1")
    return {"status": "ready"}


@app.post("/v1/orders/{order_id}/fail-reasons")
async def fail_reason(request: Request, order_id: str, body: FailReasonIn) -> Any:
    return await run(request, lambda c, k: filing.file(c, k, order_id, body), 201)


@app.post("/v1/fail-reviews/{case_id}/verdict")
async def verdict(request: Request, case_id: str, body: VerdictIn) -> Any:
    return await run(request, lambda c, k: filing.verdict(c, k, case_id, body), 200)


@app.post("/v1/payout-disputes")
async def payout_dispute(request: Request, body: PayoutDisputeIn) -> Any:
    return await run(request, lambda c, k: disputes.open_dispute(c, k, body), 201)


@app.post("/v1/payout-disputes/{case_id}/vendor-response")
async def vendor_response(request: Request, case_id: str, body: VendorResponseIn) -> Any:
    return await run(request, lambda c, k: disputes.respond(c, k, case_id, body), 200)


@app.post("/v1/pickup-complaints")
async def pickup_complaint(request: Request, body: PickupComplaintIn) -> Any:
    return await run(request, lambda c, k: complaints.file(c, k, body), 201)
