"""A problem's type is an absolute URI, and a page at it says what the problem means: every
problem type the service can answer with is in app.reference.problems, and has its page."""

import re

from httpx import AsyncClient

from app.errors import ServiceError
from app.reference.problems import HTTP_STATUS_TYPES, PROBLEM_TYPES
from app.settings import PROJECT_ROOT, Settings
from tests.conftest import http_client, running_app, suite_settings


def _subclasses(cls: type[ServiceError]) -> list[type[ServiceError]]:
    return [cls, *(sub for direct in cls.__subclasses__() for sub in _subclasses(direct))]


# problem(scope, 413, "payload-too-large", ...): a slug given where a problem is written.
_WRITTEN = re.compile(r'problem\(\s*[\w.]+,\s*(\d{3}),\s*"([a-z-]+)"')


def _slugs_written_in_the_code() -> set[tuple[int, str]]:
    found = set()
    for path in (PROJECT_ROOT / "app").rglob("*.py"):
        for status, slug in _WRITTEN.findall(path.read_text()):
            found.add((int(status), slug))
    return found


def test_every_problem_raised_anywhere_has_its_type() -> None:
    raised = {(cls.status, cls.slug) for cls in _subclasses(ServiceError)}
    written = _slugs_written_in_the_code()
    assert written, "the pattern no longer finds where problems are written"
    for status, slug in raised | written | set(HTTP_STATUS_TYPES.items()):
        assert slug in PROBLEM_TYPES, f"{slug} has no page in app/reference/problems.py"
        assert PROBLEM_TYPES[slug].status in (status, None), slug


async def test_every_problem_type_has_its_page(client: AsyncClient) -> None:
    for slug, problem in PROBLEM_TYPES.items():
        response = await client.get(f"/problems/{slug}")
        assert response.status_code == 200, slug
        assert response.headers["content-type"].startswith("text/html")
        assert problem.title in response.text.replace("&#x27;", "'")
        assert f"http://test/problems/{slug}" in response.text


async def test_an_unknown_problem_type_is_a_404_problem(client: AsyncClient) -> None:
    response = await client.get("/problems/no-such-problem")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == "http://test/problems/not-found"
    assert body["title"] == PROBLEM_TYPES["not-found"].title


async def test_an_unknown_problem_type_is_named_in_part_when_it_is_long(
    client: AsyncClient,
) -> None:
    response = await client.get("/problems/" + "x" * 5000)
    assert response.status_code == 404
    assert len(response.json()["detail"]) < 200


async def test_a_problem_links_to_its_page(client: AsyncClient) -> None:
    problem = (await client.get("/v1/orders/ORD-1")).json()
    assert problem["type"] == "http://test/problems/unauthorized"
    page = await client.get(problem["type"])
    assert page.status_code == 200 and "Authorization: Bearer" in page.text


async def test_problem_type_base_sets_the_types(database_url: str) -> None:
    settings = suite_settings(problem_type_base="https://disputes.example.com/problems/")
    async with running_app(settings, database_url) as app, http_client(app) as c:
        problem = (await c.get("/v1/orders/ORD-1")).json()
        assert problem["type"] == "https://disputes.example.com/problems/unauthorized"
        page = await c.get("/problems/unauthorized")
        assert "https://disputes.example.com/problems/unauthorized" in page.text


def test_problem_type_base_must_be_absolute() -> None:
    try:
        Settings(problem_type_base="/problems/")
    except ValueError as exc:
        assert "absolute URI" in str(exc)
    else:
        raise AssertionError("a relative PROBLEM_TYPE_BASE was taken")
