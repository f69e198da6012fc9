import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from app import names

# Beyond 10^18 a number is no integer any field takes; left as it is, the field refuses it
# (and an exponent such as 1e100000000 is never expanded into its digits).
_WHOLE_DIGITS = 18


def whole(value: Any) -> Any:
    """JSON has one number type: 1500.0 is the integer 1500, 1500.5 is refused below. A body's
    fractional numbers arrive as Decimal, exactly as written (app.api.json_body), so that
    1500.000000000000001 is refused too, where a float would have rounded it to 1500."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    # adjusted(): the power of ten of the leading digit, read without any arithmetic (which
    # would overflow on 1e100000000).
    if isinstance(value, Decimal) and value.is_finite():
        if value.is_zero():
            return 0  # 0e19 too, whatever its exponent
        if value.adjusted() <= _WHOLE_DIGITS:
            integral = value.to_integral_value()
            if integral == value:
                return int(integral)
    return value


# strict=True after whole: strings, booleans and fractions are refused, never coerced.
# (Written as one Field so the bounds appear in the JSON schema as minimum/maximum.)
Paise = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=10**12,
        description="Money in integer paise (₹1 = 100).",
        examples=[500000],
    ),
    BeforeValidator(whole),
]
Credits = Annotated[
    int, Field(strict=True, ge=0, le=10**9, description="Lead credits."), BeforeValidator(whole)
]
# Strictly positive paise: a payment of nothing is not a payment.
PositivePaise = Annotated[
    int,
    Field(strict=True, ge=1, le=10**12, description="Money in integer paise (₹1 = 100)."),
    BeforeValidator(whole),
]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# Ids this service makes (case_…, dec_…, le_…); in paths, so a malformed one is a clean 422.
PublicId = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_]{1,40}$", examples=["case_01M80H1579R78Y9H4065FT5T1J"])
]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
# A person's or a system's name, as keys and assignments carry it (app.names).
Name = Annotated[str, AfterValidator(names.normalised), Field(max_length=4 * names.NAME_MAX)]

# Every time the API takes (bodies, filters, cursors) lies in these years: anything else is a
# typo, and far years in a far offset would overflow when the database converts them.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2101, 1, 1, tzinfo=UTC)


def in_range(value: datetime) -> bool:
    return value.tzinfo is not None and EARLIEST <= value < LATEST


def _in_range(value: datetime) -> datetime:
    if not in_range(value):
        raise ValueError("must be in the years 2000 to 2100")
    return value


def rfc3339_only(value: Any) -> Any:
    """Pydantic would read a bare number as seconds since 1970; the API speaks RFC 3339."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"[0-9eE.+-]+", value)
    ):
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-11-21T10:00:00Z")
    return value


def _utc(value: datetime) -> datetime:
    # A filter time written without an offset is read as UTC, as documented.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# A list filter's time: RFC 3339, an offset optional (UTC when left out), in range.
FilterTime = Annotated[
    datetime,
    BeforeValidator(rfc3339_only),
    AfterValidator(_utc),
    AfterValidator(_in_range),
]

# RFC 3339 with an offset: a time without one is ambiguous, and refused.
Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(rfc3339_only),
    AfterValidator(_in_range),
    Field(description="RFC 3339 with a UTC offset.", examples=["2026-11-21T10:00:00Z"]),
]


def _storable(value: Any) -> Any:
    # PostgreSQL text and jsonb cannot hold U+0000, and a lone surrogate is not UTF-8: refuse
    # both here, naming the field, instead of failing in the database as an internal error.
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("must not contain the NUL character (U+0000)")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError("must be valid Unicode text") from exc
    elif isinstance(value, list | tuple):
        for item in value:
            _storable(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    return value  # nested models check their own fields


# A name in a query: bodies are checked by InputModel, a query's text needs the same check.
NameFilter = Annotated[Name, AfterValidator(_storable)]


class InputModel(BaseModel):
    """Bodies clients send: unknown fields are refused, so a typo is an error, not a no-op.

    Booleans and numbers are taken strictly, field by field (StrictBool, the money types):
    "yes" is no boolean and "150000" no amount; where money is concerned a guess is a bug.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True)

    @field_validator("*", mode="after")
    @classmethod
    def _text_is_storable(cls, value: Any) -> Any:
        return _storable(value)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProblemField(BaseModel):
    """One field at fault."""

    field: str = Field(
        description="The field: a dotted path, [i] for a list's item (pickup_notes[0].amount); "
        "'body' for the body as a whole.",
        examples=["claim"],
    )
    in_: str = Field(alias="in", description="body, query, path or header.", examples=["body"])
    message: str = Field(examples=["Input should be 'not_paid' or 'paid_less'"])
    type: str = Field(
        description="What is wrong: Pydantic's error type where the schema is not met "
        "(missing, literal_error, string_too_long, json_invalid, ...); refused where a rule of "
        "the service refuses a well-formed value.",
        examples=["literal_error"],
    )


class Problem(BaseModel):
    """An RFC 9457 problem: every error the service returns."""

    type: str = Field(
        description="PROBLEM_TYPE_BASE + the problem type's slug; by default this service's "
        "own page of it (GET /problems/{slug}).",
        examples=["http://127.0.0.1:8000/problems/validation-error"],
    )
    title: str = Field(description="The problem type's title, the same for every instance.")
    status: int
    detail: str = Field(description="What went wrong this time.")
    errors: list[ProblemField] | None = Field(
        default=None, description="For bad input: each field at fault."
    )
