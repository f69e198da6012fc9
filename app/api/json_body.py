"""A request's JSON body, read once, its fractional numbers exactly as written.

The standard parser reads 40.000000000000001 as the float 40.0 and 0.0…01 (with enough zeros)
as 0.0, so an integer field would take a fraction the client sent. Parsed with those numbers
as ``Decimal`` instead, app.api.schemas.whole sees what was written: 40.0 is 40, anything with
a fraction is refused. FastAPI reads the body through ``Request.json()``, which keeps the
first result it parsed; this parses it first, the same way except for those numbers.
"""

import json
from decimal import Decimal

from fastapi import Request
from fastapi.exceptions import RequestValidationError

from app.errors import InvalidRequest

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


def _is_json(content_type: str) -> bool:
    # As FastAPI decides whether to parse a body as JSON: no type, or application/*json.
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        not kind
        or kind == "application/json"
        or (kind.startswith("application/") and kind.endswith("+json"))
    )


async def read_exactly(request: Request) -> None:
    if request.method not in _WITH_BODY or not _is_json(request.headers.get("content-type", "")):
        return
    body = await request.body()
    if not body:
        return
    try:
        parsed = json.loads(body, parse_float=Decimal)
    except ArithmeticError:
        # An exponent beyond any Decimal's (1e9999999999999999999): as a float it would be
        # infinity or, below 1, zero, which an integer field would take.
        raise InvalidRequest(
            "The body has a number with an exponent too large to read.", "body"
        ) from None
    except json.JSONDecodeError:
        return  # not JSON: FastAPI parses it again, and its error says where
    except ValueError as exc:
        # JSON refused without a place in it: a number of more digits than Python converts
        # (its guard against quadratic time). Bad JSON like any other.
        error = {"type": "json_invalid", "loc": ("body",), "ctx": {"error": str(exc)}}
        raise RequestValidationError([error], body=body) from None
    request._json = parsed  # what Request.json() returns from now on
