"""No request runs a dependency in the thread pool.

FastAPI runs a plain ``def`` dependency in a worker thread: a thread hop per request that
costs more than the lookups ours do, and under load contends for the GIL with the event
loop. The load benchmark measured the difference; every dependency is ``async def``.
"""

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import iter_route_contexts


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _is_async(call: Any) -> bool:
    return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(
        getattr(call, "__call__", None)  # noqa: B004 (instances such as HTTPBearer)
    )


def test_every_dependency_is_async(app: FastAPI) -> None:
    blocking = set()
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            continue  # not an API route (the docs)
        blocking |= {
            getattr(c, "__qualname__", repr(c)) for c in _calls(dependant) if not _is_async(c)
        }
    assert not blocking, f"run in the thread pool on every request: {sorted(blocking)}"
