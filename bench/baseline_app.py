"""The bare baseline the load benchmark compares the service with.

For each submission kind of bench/submissions.py whose schema is importable, the same path
takes the same body, validates it with the same Pydantic model and inserts one row with
asyncpg: the least any implementation of the endpoint must do. No auth, no rules, no ORM,
no logs. Served by uvicorn: ``uvicorn bench.baseline_app:app --workers N``, with
``BASELINE_DATABASE_URL`` naming the database.
"""

import importlib
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from app.settings import Settings
from bench.submissions import SUBMISSIONS, Submission

TABLE = """CREATE TABLE IF NOT EXISTS bench_baseline (
    kind text NOT NULL,
    order_id text NOT NULL,
    body jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (kind, order_id))"""


def schema_of(submission: Submission) -> type[BaseModel] | None:
    """The kind's Pydantic model, or None while the service has none (nor the endpoint)."""
    module, _, name = submission.schema.partition(":")
    try:
        model: type[BaseModel] = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None
    return model


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = Settings()
    # As many connections per process as the service may open, so neither waits for more.
    app.state.pool = await asyncpg.create_pool(
        os.environ["BASELINE_DATABASE_URL"],
        min_size=settings.db_pool_size,
        max_size=settings.db_pool_size + settings.db_max_overflow,
    )
    async with app.state.pool.acquire() as connection:
        await connection.execute("SELECT pg_advisory_lock(7001)")  # workers start together
        await connection.execute(TABLE)
        await connection.execute("SELECT pg_advisory_unlock(7001)")
    try:
        yield
    finally:
        await app.state.pool.close()


def _route(app: FastAPI, submission: Submission, model: type[BaseModel]) -> None:
    async def submit(request: Request, body: dict[str, Any] = Body()) -> JSONResponse:
        try:
            valid = model.model_validate(body)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors()) from exc
        # The id the path names (an order, a case), or the body's order.
        order_id = request.path_params.get("id") or body.get("order_id")
        try:
            await request.app.state.pool.execute(
                "INSERT INTO bench_baseline (kind, order_id, body) VALUES ($1, $2, $3::jsonb)",
                submission.name,
                order_id,
                valid.model_dump_json(),
            )
        except asyncpg.UniqueViolationError:
            return JSONResponse({"detail": "already submitted"}, status_code=409)
        return JSONResponse(valid.model_dump(mode="json"), status_code=201)

    app.add_api_route(submission.path, submit, methods=[submission.method])


app = FastAPI(lifespan=lifespan)


@app.get("/ready")
async def ready(request: Request) -> dict[str, str]:
    await request.app.state.pool.fetchval("SELECT 1")
    return {"status": "ready"}


for _submission in SUBMISSIONS:
    if (_model := schema_of(_submission)) is not None:
        _route(app, _submission, _model)
