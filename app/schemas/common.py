from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, Strict, field_validator

Paise = Annotated[
    int,
    Strict(),
    Field(ge=0, le=10**12, description="Money in integer paise (₹1 = 100).", examples=[500000]),
]
Credits = Annotated[int, Strict(), Field(ge=0, le=10**9, description="Lead credits.")]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_has_nul(key) or _has_nul(item) for key, item in value.items())
    return False  # nested models check their own fields


class InputModel(BaseModel):
    """Bodies clients send: unknown fields are refused, so a typo is an error, not a no-op."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text and jsonb cannot hold U+0000: refused here, naming the field, rather
        # than failing in the database as an internal error.
        if _has_nul(value):
            raise ValueError("must not contain the NUL character (U+0000)")
        return value


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(BaseModel):
    """An RFC 9457 problem: every error the service returns."""

    type: str = Field(examples=["/problems/validation-error"])
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For bad input: each bad field, where it is and what is wrong."
    )


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {"application/problem+json": {}}, "description": text}
    for status, text in {
        401: "No or unknown API key",
        403: "Role not allowed, or another vendor's data",
        404: "Not found",
        409: "Conflicts with the current state, or an Idempotency-Key in flight",
        422: "Invalid input, named field by field",
    }.items()
}
