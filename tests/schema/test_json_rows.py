"""A row PostgreSQL sends as JSON reads back as the ORM reads it, whatever the session's time
zone (app.db.json_rows; a case's answer reads its decisions and clocks so)."""

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import json_rows
from app.models import Deadline, Decision
from tests.schema.test_one_trip import case_rows


async def test_a_row_read_as_json_equals_the_orms_in_any_time_zone(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    case, clock, decision, _ = case_rows()
    async with sessionmaker() as session, session.begin():
        session.add_all([case, clock, decision])
    rows: list[tuple[type[Any], str, str]] = [
        (Decision, "decisions", decision.id),
        (Deadline, "deadlines", clock.id),
    ]
    for cls, table, row_id in rows:
        async with sessionmaker() as session, session.begin():
            await session.execute(text("SET LOCAL TimeZone = 'Asia/Kolkata'"))
            (values,) = (
                await session.execute(
                    text(f"SELECT to_jsonb(r) FROM {table} r WHERE id = :id"), {"id": row_id}
                )
            ).one()
            loaded = await session.get(cls, row_id)
        assert "+05:30" in str(values)  # the times came in the session's zone
        read = vars(json_rows.row(cls, values))
        assert read == {c.key: getattr(loaded, c.key) for c in inspect(cls).column_attrs}
        # Equal instants are not enough: an answer shows times in UTC, as the driver gives.
        times = [v for v in read.values() if isinstance(v, datetime)]
        assert times and all(t.utcoffset() == timedelta(0) for t in times)
