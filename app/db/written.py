"""The rows this transaction added, held by the session for as long as it lives.

The session's identity map holds rows weakly, so it cannot say what was written; this list
can. app.cases.views answers a case opened in this transaction from it, without reading
back what it has just written.
"""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "written"


def keep(session: AsyncSession, row: Any) -> None:
    session.info.setdefault(_KEY, []).append(row)


def rows(session: AsyncSession) -> list[Any]:
    kept: list[Any] = session.info.get(_KEY, [])
    return kept
