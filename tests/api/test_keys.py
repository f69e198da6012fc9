"""A key's life: made for a named person, rotated, revoked; when it was last used."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from httpx import AsyncClient
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.deps import Principal, require
from app.api.roles import Right
from app.api.transaction import TransactionRoute
from app.errors import Conflict, InvalidRequest, NotFound
from app.keys import service as keys
from app.models import ApiKey
from app.settings import Settings
from tests.conftest import Headers, KeyMaker, http_client, running_app


def with_whoami(application: FastAPI) -> FastAPI:
    """The app plus a route that answers who the caller is, as the routes see it."""
    router = APIRouter(route_class=TransactionRoute, include_in_schema=False)

    @router.get("/test/whoami")
    async def whoami(caller: Annotated[Principal, Depends(require(Right.READ))]) -> Any:
        return {**caller.__dict__, "actor": caller.actor}

    application.include_router(router)
    return application


@pytest.fixture
async def uncached(settings: Settings, database_url: str) -> Any:
    """An app of its own that looks every key up on every request, with /test/whoami."""
    own = settings.model_copy(update={"api_key_cache_seconds": 0})
    async with running_app(own, database_url) as application:
        yield with_whoami(application)


async def _issue(
    maker: Any, role: str, name: str | None, vendor: str | None = None
) -> tuple[ApiKey, Headers]:
    async with maker() as session, session.begin():
        key, token = await keys.issue(session, role, name, vendor)
    return key, {"Authorization": f"Bearer {token}"}


async def test_the_caller_is_the_named_person_of_the_key(uncached: FastAPI) -> None:
    maker = uncached.state.sessionmaker
    key, headers = await _issue(maker, "finance_manager", "  Meera Iyer ")
    async with http_client(uncached) as client:
        me = (await client.get("/test/whoami", headers=headers)).json()
    assert me == {
        "key_id": key.id,
        "role": "finance_manager",
        "vendor_id": None,
        "name": "Meera Iyer",
        "actor": f"finance_manager:{key.id}",
    }


async def test_a_rotated_key_keeps_its_id_and_name_and_refuses_its_old_secret(
    uncached: FastAPI,
) -> None:
    maker = uncached.state.sessionmaker
    key, old = await _issue(maker, "vendor", "Vendor app of V-7", "V-7")
    async with maker() as session, session.begin():
        rotated, token = await keys.rotate(session, key.id)
    new = {"Authorization": f"Bearer {token}"}
    assert rotated.rotated_at is not None
    async with http_client(uncached) as client:
        refused = await client.get("/test/whoami", headers=old)
        me = (await client.get("/test/whoami", headers=new)).json()
    assert refused.status_code == 401
    assert (me["key_id"], me["role"], me["vendor_id"], me["name"]) == (
        key.id,
        "vendor",
        "V-7",
        "Vendor app of V-7",
    )


async def test_a_revoked_key_stays_revoked_and_cannot_be_rotated(sessionmaker: Any) -> None:
    key, _ = await _issue(sessionmaker, "ops", "Ravi")
    async with sessionmaker() as session, session.begin():
        first, revoked = await keys.revoke(session, key.id)
    assert revoked and first.revoked_at is not None
    async with sessionmaker() as session, session.begin():
        again, revoked = await keys.revoke(session, key.id)
    assert not revoked and again.revoked_at == first.revoked_at
    async with sessionmaker() as session, session.begin():
        with pytest.raises(Conflict, match="revoked"):
            await keys.rotate(session, key.id)
        with pytest.raises(NotFound):
            await keys.revoke(session, "key_NOPE")


@pytest.mark.parametrize(
    ("role", "name", "vendor_id", "field"),
    [
        ("admin", "x", None, "role"),
        ("vendor", "x", None, "vendor_id"),
        ("ops", "x", "V-1", "vendor_id"),
        ("vendor", "x", "V 1", "vendor_id"),
        ("vendor", "x", "V" * 65, "vendor_id"),
        ("ops", "   ", None, "name"),
        ("ops", "two\nlines", None, "name"),
        ("ops", "x" * 201, None, "name"),
    ],
)
async def test_a_bad_key_argument_is_refused_by_field(
    sessionmaker: Any, role: str, name: str, vendor_id: str | None, field: str
) -> None:
    async with sessionmaker() as session, session.begin():
        with pytest.raises(InvalidRequest) as refused:
            await keys.issue(session, role, name, vendor_id)
    assert refused.value.errors and refused.value.errors[0]["field"] == field
    async with sessionmaker() as session:
        assert (await session.scalars(select(ApiKey))).all() == []


async def test_a_key_made_without_a_name_is_named_after_its_role(sessionmaker: Any) -> None:
    async with sessionmaker() as session, session.begin():
        key, _ = await keys.issue(session, "service", None)
    assert key.name == f"service key {key.id}"


@contextmanager
def statements(db_engine: AsyncEngine) -> Iterator[list[str]]:
    sent: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, _p: Any, _x: Any, _m: bool) -> None:
        sent.append(statement)

    event.listen(db_engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db_engine.sync_engine, "before_cursor_execute", count)


async def last_used(sessionmaker: Any) -> dict[str, Any]:
    async with sessionmaker() as session:
        rows = (await session.execute(select(ApiKey.name, ApiKey.last_used_at))).all()
    return dict(rows)


async def test_last_use_is_written_in_the_background_once_per_interval(
    app: FastAPI, client: AsyncClient, make_key: KeyMaker, db_engine: AsyncEngine, sessionmaker: Any
) -> None:
    recorder = app.state.key_use_recorder
    await recorder.tick()  # whatever earlier tests left
    asha, ravi = await make_key("support", name="Asha"), await make_key("ops", name="Ravi")
    await make_key("service", name="never used")
    with statements(db_engine) as sent:
        for _ in range(5):
            for headers in (asha, ravi):
                assert (await client.get("/v1/vendors/V-1", headers=headers)).status_code == 404
    assert not [s for s in sent if s.startswith("UPDATE api_keys")], "a write per request"
    used = await last_used(sessionmaker)
    assert used == {"Asha": None, "Ravi": None, "never used": None}

    with statements(db_engine) as sent:
        assert await recorder.tick() == 2
        assert await recorder.tick() == 0  # nothing used since: nothing sent
    assert len([s for s in sent if s.startswith("UPDATE api_keys")]) == 1
    used = await last_used(sessionmaker)
    assert used["Asha"] is not None and used["Ravi"] is not None and used["never used"] is None

    # Used again within the interval: the row keeps its time (another instance may have
    # written it a moment ago; the next interval writes it again).
    await client.get("/v1/vendors/V-1", headers=asha)
    await recorder.tick()
    assert await last_used(sessionmaker) == used
