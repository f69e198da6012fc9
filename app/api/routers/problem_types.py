"""GET /problems/{slug}: what a problem type means, for whoever follows a problem's type."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from app.api.problems import type_uri
from app.errors import NotFound
from app.reference.problems import PROBLEM_TYPES, page

router = APIRouter(tags=["problems"])


@router.get(
    "/problems/{slug}",
    response_class=HTMLResponse,
    summary="What a problem type means: when it happens and what to do",
    responses={200: {"content": {"text/html": {}}, "description": "A small HTML page"}},
)
async def problem_type(request: Request, slug: str) -> HTMLResponse:
    if slug not in PROBLEM_TYPES:
        # The path is the client's: name only as much of it as anyone needs to recognise it.
        shown = slug if len(slug) <= 80 else f"{slug[:80]}…"
        raise NotFound(f"No problem type {shown!r}; every type is listed in the API description.")
    return HTMLResponse(page(slug, type_uri(request.scope, slug)))
