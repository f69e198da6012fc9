"""Cursor paging for every list: ?limit=1..100 (default 20) and an opaque ?cursor=."""

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from app.services.errors import InvalidRequest

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(
        description="Pass as ?cursor= for the next page; null on the last page."
    )


def encode_cursor(last_key: str) -> str:
    return base64.urlsafe_b64encode(last_key.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise InvalidRequest("cursor is not one this service issued.", "cursor") from exc


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
        cursor = encode_cursor(key(items[-1])) if more else None
        return Page[T](items=items, next_cursor=cursor)


def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page.")] = 20,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
) -> PageParams:
    return PageParams(limit=limit, after=decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageParams, Depends(page_params)]
