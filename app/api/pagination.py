"""Cursor paging for every list: ?limit=1..100 (default 20) and an opaque ?cursor=."""

import base64
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from app.api.schemas import in_range
from app.errors import InvalidRequest

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


_CURSOR_PREFIX = "after:"
# What a cursor's last row can be: an id this service made (case_..., dec_...) or one the
# order system sent (ORD-20931), in the alphabet every id filter takes.
_ROW_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _not_issued(detail: str = "cursor is not one this service issued.") -> InvalidRequest:
    return InvalidRequest(detail, "cursor", "query")


def encode_cursor(last_key: str) -> str:
    raw = (_CURSOR_PREFIX + last_key).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        raw = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except ValueError:
        raw = ""
    if not raw.startswith(_CURSOR_PREFIX):
        raise _not_issued()
    return raw.removeprefix(_CURSOR_PREFIX)


def time_key(at: datetime, row_id: str, ordered_by: str | None = None) -> str:
    """The cursor key of a list ordered by (time, id): the last row's both values, and the
    name of the order when it is not the list's first (see PageParams.after_time_key)."""
    key = f"{at.isoformat()}|{row_id}"
    return key if ordered_by is None else f"{ordered_by}:{key}"


@dataclass(frozen=True)
class PageParams:
    limit: int
    after: str | None

    @property
    def fetch(self) -> int:
        """Rows to ask for: one more than a page, to learn whether a next page exists."""
        return self.limit + 1

    def after_time_key(self, ordered_by: str | None = None) -> tuple[datetime, str] | None:
        """The (time, id) of :func:`time_key`, or None on the first page. A cursor is
        checked as strictly as a filter: one the service could not have issued is a 422.

        ``ordered_by`` names a list's second order (its key made by :func:`time_key` with
        the same name): a cursor of one order is refused by the other, whose rows it would
        skip or repeat."""
        if self.after is None:
            return None
        key = self.after
        if ordered_by is not None:
            if not key.startswith(f"{ordered_by}:"):
                raise _not_issued(f"cursor is not one of sort={ordered_by}.")
            key = key.removeprefix(f"{ordered_by}:")
        at, _, row_id = key.partition("|")
        try:
            moment = datetime.fromisoformat(at)
        except ValueError:
            raise _not_issued() from None
        if not _ROW_ID.fullmatch(row_id) or moment.tzinfo is None or not in_range(moment):
            raise _not_issued()
        return moment, row_id

    def after_number(self) -> int | None:
        """The position of a list ordered by a number (a ledger's seq)."""
        if self.after is None:
            return None
        if not re.fullmatch(r"[0-9]{1,18}", self.after):
            raise _not_issued()
        return int(self.after)

    def page(self, items: list[T], key: Callable[[T], str]) -> Page[T]:
        more = len(items) > self.limit
        items = items[: self.limit]
        cursor = encode_cursor(key(items[-1])) if more else None
        return Page[T](items=items, next_cursor=cursor)


async def page_params(  # async: see app.api.deps
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 20,
    cursor: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_-]{1,200}$", description="next_cursor of the previous page."),
    ] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageParams, Depends(page_params)]

# A list's equality filter (an id or a code): its alphabet keeps anything the database cannot
# compare (a NUL, say) out, with a 422 naming the parameter.
Filter = Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
