"""openapi.yaml at the project root is the app's own description, generated and committed."""

import re
from typing import Any

import pytest
import yaml
from fastapi import APIRouter, FastAPI

from app.api.operations import OPERATION_IDS, operation_id
from app.openapi_file import render
from app.settings import PROJECT_ROOT


def test_committed_openapi_matches_the_app() -> None:
    committed = (PROJECT_ROOT / "openapi.yaml").read_text()
    assert yaml.safe_load(committed) == yaml.safe_load(render()), (
        "openapi.yaml is stale: run `dispute-service openapi`"
    )


def test_every_operation_but_health_requires_a_key() -> None:
    spec = yaml.safe_load(render())
    open_paths = {"/health", "/ready", "/problems/{slug}"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            secured = bool(operation.get("security"))
            assert secured == (path not in open_paths), f"{method.upper()} {path}"


def test_every_operation_has_its_chosen_camel_case_id_once() -> None:
    spec = yaml.safe_load(render())
    ids = [
        operation.get("operationId", "")
        for operations in spec["paths"].values()
        for operation in operations.values()
    ]
    assert [i for i in ids if not re.fullmatch(r"[a-z][A-Za-z]+", i)] == []
    assert len(ids) == len(set(ids)), "an operation id used twice"
    # Every id of the table is an operation (none left over from a route gone).
    assert set(ids) == set(OPERATION_IDS.values())


def test_a_route_without_a_chosen_id_has_no_description() -> None:
    router = APIRouter()
    router.add_api_route("/v1/unnamed", lambda: None)
    app = FastAPI(generate_unique_id_function=operation_id)
    app.include_router(router)
    with pytest.raises(LookupError, match=re.escape("app/api/operations.py")):
        app.openapi()


def _resolve(spec: dict[str, Any], item: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in item:
        node: Any = spec
        for part in item["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        item = node
    return item


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
    ]


def test_the_headers_the_service_reads_are_parameters() -> None:
    spec = yaml.safe_load(render())
    for method, path, operation in _operations(spec):
        names = {_resolve(spec, p)["name"] for p in operation.get("parameters", [])}
        assert "X-Request-ID" in names, f"{method} {path}"
        # Every POST, and only a POST, replays its answer for the same Idempotency-Key.
        assert ("Idempotency-Key" in names) == (method == "post"), f"{method} {path}"


def test_every_problem_is_documented_as_problem_json() -> None:
    spec = yaml.safe_load(render())
    for method, path, operation in _operations(spec):
        where = f"{method} {path}"
        statuses = set(operation["responses"])
        if operation.get("security"):
            assert {"401", "403", "429", "503"} <= statuses, where
        if method in ("post", "put", "delete"):
            assert {"400", "408", "413", "422"} <= statuses, where
        if "{" in path:
            assert "404" in statuses, where
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                content = _resolve(spec, response)["content"]
                assert list(content) == ["application/problem+json"], where
                schema = content["application/problem+json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/Problem"}, where
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    field = _resolve(spec, problem["properties"]["errors"]["anyOf"][0]["items"])
    assert set(field["required"]) == {"field", "in", "message", "type"}
