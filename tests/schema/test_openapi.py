"""openapi.yaml at the project root is the app's own description, generated and committed."""

import yaml

from app.openapi_file import render
from app.settings import PROJECT_ROOT


def test_committed_openapi_matches_the_app() -> None:
    committed = (PROJECT_ROOT / "openapi.yaml").read_text()
    assert yaml.safe_load(committed) == yaml.safe_load(render()), (
        "openapi.yaml is stale: run `dispute-service openapi`"
    )


def test_every_operation_but_health_requires_a_key() -> None:
    spec = yaml.safe_load(render())
    open_paths = {"/health", "/ready"}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            secured = bool(operation.get("security"))
            assert secured == (path not in open_paths), f"{method.upper()} {path}"
