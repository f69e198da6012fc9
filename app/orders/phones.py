"""Phone numbers: one spelling per number, so a customer's orders are found however an agent
or the order system typed it.

The spelling is E.164: ``+``, the country code, the number. The service's customers are in
India, so a number written without ``+`` is Indian when it has 10 digits (9812345678), 11
starting with the trunk 0 (09812345678), or 12 starting with 91 (919812345678): all four,
with +919812345678, are one number. Any other number without ``+`` is read as starting with
its country code. migrations/versions/0009_people.py spells the orders stored before the
column existed the same way, in SQL.
"""

import re
from typing import Annotated

from pydantic import AfterValidator, Field

PATTERN = r"^\+?[0-9]{10,15}$"
_PHONE = re.compile(PATTERN)
# What people put between digits when they type a number, and a '+' that a query string
# not URL-encoded turns into a space.
_SEPARATORS = re.compile(r"[\s\-()]")


def normalise(phone: str) -> str:
    """The E.164 spelling of a number that matches PATTERN."""
    digits = phone.removeprefix("+")
    if not phone.startswith("+"):
        if len(digits) == 10:
            digits = "91" + digits
        elif len(digits) == 11 and digits.startswith("0"):
            digits = "91" + digits[1:]
    return "+" + digits


def _typed(value: str) -> str:
    compact = _SEPARATORS.sub("", value)
    if not _PHONE.match(compact):
        raise ValueError("must be a phone number: 10 to 15 digits, an optional leading +")
    return normalise(compact)


# A number as people type it: spaces, hyphens and brackets between digits are ignored.
TypedPhone = Annotated[
    str,
    Field(max_length=32, examples=["+919812345678", "09812345678", "98123 45678"]),
    AfterValidator(_typed),
]
