"""The people working a case: notes in their names, and who the case is with."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.cases import locks
from app.cases.deciding import Actor
from app.cases.schemas import NoteIn
from app.db import clock
from app.events import service as events
from app.models import Case


async def add_note(session: AsyncSession, actor: Actor, case_id: str, body: NoteIn) -> Case:
    case = (await locks.lock_case(session, case_id)).case
    note = {
        "text": body.text,
        "attachments": [attachment.model_dump() for attachment in body.attachments],
        "by": actor.key,
        "name": actor.name,
        "at": (await clock.now(session)).isoformat(),
    }
    case.notes = [*case.notes, note]
    await events.emit(session, "case.note_added", case=case, by=actor.key, name=actor.name)
    return case


async def assign(session: AsyncSession, actor: Actor, case_id: str, assignee: str | None) -> Case:
    case = (await locks.lock_case(session, case_id)).case
    previous, case.assignee = case.assignee, assignee
    await events.emit(
        session,
        "case.assigned",
        case=case,
        assignee=assignee,
        previous=previous,
        by=actor.key,
        name=actor.name,
    )
    return case
