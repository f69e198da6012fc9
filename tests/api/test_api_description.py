"""GET /openapi.json and GET /docs: the API description and Swagger UI, open to anyone by
default, and gone when PUBLIC_API_DOCS is false."""

import yaml
from httpx import AsyncClient

from app.main import create_app
from app.settings import PROJECT_ROOT
from tests.conftest import http_client, suite_settings


async def test_without_a_key_the_document_is_openapi_yaml(client: AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == yaml.safe_load((PROJECT_ROOT / "openapi.yaml").read_text())


async def test_swagger_ui_is_served_without_a_key(client: AsyncClient) -> None:
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text and "/openapi.json" in response.text


async def test_only_swagger_ui_is_served(client: AsyncClient) -> None:
    for path in ("/redoc", "/docs/oauth2-redirect"):
        assert (await client.get(path)).status_code == 404, path


async def test_public_api_docs_false_closes_both(database_url: str) -> None:
    closed = create_app(suite_settings(public_api_docs=False), database_url)
    async with http_client(closed) as c:
        for path in ("/openapi.json", "/docs"):
            response = await c.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
    # The committed document is the same either way.
    assert closed.openapi() == yaml.safe_load((PROJECT_ROOT / "openapi.yaml").read_text())
