"""What FastAPI's description of the app leaves out, added to every operation from what the
service does around its endpoints: the headers it reads (Idempotency-Key, X-Request-ID) and
the problems it may answer with, each an application/problem+json of one Problem schema.

Which problems an operation may meet follows from what it is, not from a list per route:
a key is checked (401, 403, 429), a body is read (400, 408, 413), a path names a record
(404), a transaction writes (409), there is input to refuse (422), the database is asked
(503). tests/contract/test_openapi_fuzz.py holds the service to the result.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from app.api.deps import KEY_CHECKS
from app.api.idempotency import MAX_KEY_LENGTH
from app.api.schemas import Problem
from app.api.transaction import TransactionRoute
from app.reference.problems import PROBLEM_TYPES

PROBLEM_JSON = "application/problem+json"
_BODY_METHODS = {"post", "put", "patch", "delete"}  # what app.api.limits.BodyLimits reads

PARAMETERS: dict[str, dict[str, Any]] = {
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
        "description": "Makes a retry safe: the same key and body replay the first answer "
        "(with Idempotent-Replayed: true) for IDEMPOTENCY_RETENTION_HOURS; another body is a "
        "422, and a retry while the first still runs a 409. Scoped to the API key.",
    },
    "RequestId": {
        "name": "X-Request-ID",
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": "Your id for this request, to correlate: 1 to 64 of A-Z a-z 0-9 . _ -. "
        "Returned as the X-Request-ID response header, logged, and stored on every event the "
        "request writes; anything else is replaced by a fresh id.",
    },
}

HEADERS: dict[str, dict[str, Any]] = {
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer"},
    },
    "IdempotentReplayed": {
        "description": "true: this is the stored answer of an earlier request with the same "
        "Idempotency-Key.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "WwwAuthenticate": {"description": "Bearer", "schema": {"type": "string"}},
}

# Each documented problem status: its component's name, what it means, and its headers.
RESPONSES: dict[int, tuple[str, str, dict[str, str]]] = {
    400: ("MalformedRequest", "The body cannot be read, or nests too deeply", {}),
    401: (
        "Unauthorized",
        "No API key, or an unknown, rotated-out or revoked one",
        {"WWW-Authenticate": "WwwAuthenticate"},
    ),
    403: ("Forbidden", "The key's role may not do this, or the records are another vendor's", {}),
    404: ("NotFound", "No record with the id in the path", {}),
    408: ("RequestTimeout", "The body did not arrive within BODY_TIMEOUT_SECONDS", {}),
    409: (
        "Conflict",
        "Conflicts with the record's current state, a request with this Idempotency-Key is "
        "still running, or concurrent requests kept undoing this one",
        {},
    ),
    413: ("PayloadTooLarge", "The body is larger than MAX_BODY_BYTES", {}),
    422: ("Invalid", "Invalid input: errors names each field at fault", {}),
    429: (
        "RateLimited",
        "This API key made more than RATE_LIMIT_PER_MINUTE requests: retry after Retry-After",
        {"Retry-After": "RetryAfter"},
    ),
    503: (
        "Unavailable",
        "The database is not answering: retry shortly, with the same Idempotency-Key",
        {"Retry-After": "RetryAfter"},
    ),
}


def _response(status: int) -> dict[str, Any]:
    _, meaning, headers = RESPONSES[status]
    types = ", ".join(f"`{slug}`" for slug, t in PROBLEM_TYPES.items() if t.status == status)
    response: dict[str, Any] = {
        "description": f"{meaning}. Problem types: {types}.",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    if headers:
        response["headers"] = {
            name: {"$ref": f"#/components/headers/{ref}"} for name, ref in headers.items()
        }
    return response


def _statuses(method: str, path: str, operation: dict[str, Any], route: Any) -> set[int]:
    transactional = isinstance(route, TransactionRoute)
    keyed = bool(operation.get("security"))
    reads_body = method in _BODY_METHODS
    has_input = bool(operation.get("parameters") or operation.get("requestBody"))
    writes = method != "get" or not getattr(route, "snapshot_reads", True)
    statuses = set()
    if keyed:
        statuses |= {401, 403, 429}
    if reads_body:
        statuses |= {400, 408, 413}
    if any(p.get("in") == "path" for p in operation.get("parameters", ())):
        statuses.add(404)
    if transactional and writes:
        statuses.add(409)
    if transactional and (has_input or method == "post"):  # or an Idempotency-Key too long
        statuses.add(422)
    if transactional or path == "/ready":
        statuses.add(503)
    return statuses


BEARER = {
    "type": "http",
    "description": "An API key made by `dispute-service keys create`.",
    "scheme": "bearer",
}


def _keyed(dependant: Dependant) -> bool:
    """Whether the route checks the caller's key (app.api.deps.require)."""
    return any(d.call in KEY_CHECKS or _keyed(d) for d in dependant.dependencies)


def describe(app: FastAPI, document: dict[str, Any]) -> dict[str, Any]:
    """Adds the service's headers and problems to FastAPI's ``document`` of ``app``."""
    routes = {
        (method.lower(), context.path): context.original_route
        for context in iter_route_contexts(app.routes)
        for method in context.methods or ()
    }
    for path, operations in document.get("paths", {}).items():
        for method, operation in operations.items():
            route = routes[(method, path)]
            if isinstance(route, APIRoute) and _keyed(route.dependant):
                operation["security"] = [{"HTTPBearer": []}]
            statuses = _statuses(method, path, operation, route)
            parameters = operation.setdefault("parameters", [])
            if isinstance(route, TransactionRoute) and method == "post":
                parameters.append({"$ref": "#/components/parameters/IdempotencyKey"})
                for status, response in operation["responses"].items():
                    if status.startswith("2"):
                        replayed = {"$ref": "#/components/headers/IdempotentReplayed"}
                        response.setdefault("headers", {})["Idempotent-Replayed"] = replayed
            parameters.append({"$ref": "#/components/parameters/RequestId"})
            responses = operation["responses"]
            responses.pop("422", None)  # FastAPI's own, for its HTTPValidationError
            for status in sorted(statuses):
                responses[str(status)] = {"$ref": f"#/components/responses/{RESPONSES[status][0]}"}
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    components["securitySchemes"] = {"HTTPBearer": BEARER}
    components["parameters"] = PARAMETERS
    components["headers"] = HEADERS
    components["responses"] = {
        name: _response(status) for status, (name, _, _) in RESPONSES.items()
    }
    return document


def install(app: FastAPI) -> None:
    """``app.openapi()`` answers the described document (built once, as FastAPI's is)."""
    plain = app.openapi
    described: list[dict[str, Any]] = []

    def openapi() -> dict[str, Any]:
        document = plain()
        if not described or described[0] is not document:
            described[:] = [describe(app, document)]
        return document

    app.openapi = openapi  # type: ignore[method-assign]
