"""RFC 9457 problem+json for every error: domain errors, bad input, and the unexpected."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from app.errors import ServiceError, Unavailable
from app.reference.problems import PROBLEM_TYPES, type_for_status

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def type_uri(scope: Scope, slug: str) -> str:
    """PROBLEM_TYPE_BASE + slug; unset, this service's own page of the problem type."""
    app = scope.get("app")
    base = getattr(getattr(app, "state", None), "problem_type_base", None)
    if base is None:
        base = f"{Request(scope).base_url}problems/"
    return f"{base}{slug}"


def problem(
    scope: Scope,
    status: int,
    slug: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The answer of one problem type of app.reference.problems (its title comes from there)."""
    body: dict[str, Any] = {
        "type": type_uri(scope, slug),
        "title": PROBLEM_TYPES[slug].title,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def error_response(scope: Scope, exc: ServiceError) -> JSONResponse:
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return problem(scope, exc.status, exc.slug, exc.detail, exc.errors, headers)


def _field(loc: tuple[int | str, ...]) -> tuple[str, str]:
    """("body", "pickup_notes", 0, "amount") -> ("body", "pickup_notes[0].amount")."""
    where = str(loc[0]) if loc else "body"
    name = ""
    for part in loc[1:]:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return where, name or where


# A tagged union reports a missing or unknown tag at the union itself; the field at fault is
# the tag ("case_type", an action's "type").
_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")


# The keys the tagged unions of request bodies are told apart by: an action's "type"
# (app.effects.schemas), a simulation's "case_type" (app.decisions.simulation_schemas). No
# other input model has a field of these names (tests/api/test_problem_fields.py).
UNION_TAG_KEYS = ("type", "case_type")


def _without_tags(loc: tuple[int | str, ...], body: Any) -> tuple[int | str, ...]:
    """The loc as the client wrote the body: a tagged union adds its member's tag after the
    union's own place (``actions[0].platform_payout.amount``), which is no field of the body
    but the value of the object's tag key (``actions[0].amount``)."""
    if not loc or loc[0] != "body":
        return loc
    kept: list[int | str] = [loc[0]]
    node = body
    tag_skipped = False
    for part in loc[1:]:
        if (
            not tag_skipped
            and isinstance(node, dict)
            and isinstance(part, str)
            and any(node.get(key) == part for key in UNION_TAG_KEYS)
        ):
            tag_skipped = True  # once per object: a key spelled like the tag is a field
            continue
        tag_skipped = False
        if isinstance(node, dict) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
        kept.append(part)
    return tuple(kept)


def validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for error in exc.errors():
        loc = tuple(error.get("loc", ()))
        if error["type"] == "json_invalid":
            # The parser's loc is ("body", <character offset>): the offset is no field.
            at = f" (at character {loc[1]})" if len(loc) > 1 else ""
            reason = error.get("ctx", {}).get("error", "not JSON")
            message = f"The body is not valid JSON: {reason}{at}."
            errors.append(
                {"field": "body", "in": "body", "message": message, "type": "json_invalid"}
            )
            continue
        loc = _without_tags(loc, exc.body)
        if error["type"] in _TAG_ERRORS and "discriminator" in error.get("ctx", {}):
            loc = (*loc, str(error["ctx"]["discriminator"]).strip("'"))
        where, field = _field(loc)
        errors.append({"field": field, "in": where, "message": error["msg"], "type": error["type"]})
    return errors


def _allowed_methods(request: Request) -> list[str]:
    """Every method any route offers at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


# SQLSTATE classes that say the database cannot serve right now, not that the request was
# wrong: 08 connection exception (e.g. closed mid-query), 57P operator intervention (shutting
# down, starting up, terminated by an administrator), 53 insufficient resources (too many
# connections). asyncpg reports these as plain database errors, not operational ones.
_UNAVAILABLE_SQLSTATES = ("08", "57P", "53")


def is_database_down(exc: Exception) -> bool:
    # A pool with no free connection (every one busy or stuck) times out as well.
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        sqlstate = getattr(exc.orig, "sqlstate", None) or ""
        return exc.connection_invalidated or sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    return isinstance(exc, ConnectionError | OSError | TimeoutError)


def install(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
        return error_response(request.scope, exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        names = ", ".join(sorted({e["field"] for e in errors}))
        return problem(request.scope, 422, "validation-error", f"Invalid: {names}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(_allowed_methods(request))
        slug = type_for_status(exc.status_code)
        return problem(request.scope, exc.status_code, slug, str(exc.detail), None, headers)

    # Registered by class so Starlette's ExceptionMiddleware answers them; a handler for bare
    # Exception would only run in ServerErrorMiddleware, which re-raises after answering.
    @app.exception_handler(OSError)
    @app.exception_handler(SQLAlchemyError)
    async def _database(request: Request, exc: Exception) -> JSONResponse:
        if is_database_down(exc):
            log.warning("database unavailable: %s", type(exc).__name__)
            down = Unavailable("The database is not answering; retry shortly.")
            return problem(request.scope, 503, down.slug, down.detail, headers={"Retry-After": "1"})
        return _internal(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        return _internal(request, exc)


def _internal(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(request.scope, 500, "internal-error", "An unexpected error occurred.")
