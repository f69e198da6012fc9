from fastapi import APIRouter, Request
from sqlalchemy import text

from app.errors import Unavailable

router = APIRouter(tags=["health"])


@router.get("/health", summary="The process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/ready", summary="The service can take traffic: the database answers")
async def ready(request: Request) -> dict[str, str]:
    try:
        async with request.app.state.db_engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable("The database is not answering.") from exc
    return {"status": "ready"}
