"""GET /openapi.json: the API description, for any caller with a key, and only with one."""

import yaml
from httpx import AsyncClient

from app.settings import PROJECT_ROOT
from tests.conftest import Headers, KeyMaker


async def test_every_role_reads_the_same_document_as_openapi_yaml(
    client: AsyncClient, make_key: KeyMaker
) -> None:
    for role, vendor in (("vendor", "V-1"), ("support", None), ("ops", None), ("service", None)):
        response = await client.get("/openapi.json", headers=await make_key(role, vendor))
        assert response.status_code == 200, role
        assert response.json() == yaml.safe_load((PROJECT_ROOT / "openapi.yaml").read_text())


async def test_without_a_key_it_is_refused(client: AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_no_browsable_pages_are_served(client: AsyncClient, ops: Headers) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert (await client.get(path, headers=ops)).status_code == 404, path
