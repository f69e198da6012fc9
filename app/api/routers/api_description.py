"""The API description, for callers with a key: only /health and /ready are open.

openapi.yaml in the repository is the same document; the browsable /docs and /redoc pages
are not served, since a browser cannot send the key they would need.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from app.api.deps import Principal, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute

router = APIRouter(route_class=TransactionRoute, include_in_schema=False)


@router.get("/openapi.json")
async def openapi(
    request: Request, _: Annotated[Principal, Depends(require(Right.READ))]
) -> dict[str, Any]:
    document: dict[str, Any] = request.app.openapi()
    return document
