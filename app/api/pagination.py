"""Cursor paging for every list: ?limit=1..100 (default 20) and ?cursor= (the last id seen)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


@dataclass(frozen=True)
class PageParams:
    limit: int
    after: str | None

    @property
    def fetch(self) -> int:
        """Rows to ask for: one more than a page, to learn whether a next page exists."""
        return self.limit + 1

    def page(self, items: list[T], key: Callable[[T], str]) -> Page[T]:
        more = len(items) > self.limit
        items = items[: self.limit]
        cursor = key(items[-1]) if more else None
        return Page[T](items=items, next_cursor=cursor)


async def page_params(  # async: see app.api.deps
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 20,
    cursor: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9_]{1,64}$", description="next_cursor of the previous page."),
    ] = None,
) -> PageParams:
    # The cursor is the sort key of the last item seen (as Stripe's starting_after), so any
    # well-formed value is a position: there is no cursor that "does not exist".
    return PageParams(limit=limit, after=cursor)


Paging = Annotated[PageParams, Depends(page_params)]
