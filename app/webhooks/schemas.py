from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, HttpUrl, UrlConstraints, field_validator

from app.api.schemas import InputModel, OutputModel

ALL_TYPES = "*"

# http and https only, with a host; a userinfo part (basic auth for the receiver) is allowed.
EndpointUrl = Annotated[
    HttpUrl,
    UrlConstraints(max_length=2000, allowed_schemes=["http", "https"], host_required=True),
    Field(examples=["https://ops.example.com/hooks/disputes"]),
]
EventType = Annotated[
    str,
    Field(
        pattern=r"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$",
        max_length=48,
        examples=["case.escalated"],
    ),
]


class WebhookEndpointIn(InputModel):
    url: EndpointUrl = Field(description="Where each event is POSTed: http or https.")
    event_types: list[EventType] = Field(
        default=[ALL_TYPES],
        max_length=100,
        description='Event types to receive, exactly as in GET /v1/events; empty, or `["*"]`: '
        "every type.",
        examples=[["case.escalated", "case.breached"]],
    )
    description: str = Field(default="", max_length=500)

    @field_validator("event_types")
    @classmethod
    def _all_or_some(cls, types: list[str]) -> list[str]:
        if ALL_TYPES in types and len(types) > 1:
            raise ValueError("'*' already means every type; send it alone")
        if len(set(types)) != len(types):
            raise ValueError("each event type may be named once")
        return types or [ALL_TYPES]


class WebhookEndpointOut(OutputModel):
    id: str
    url: str
    description: str
    event_types: list[str] = Field(description='`["*"]`: every type.')
    created_by: str
    created_at: datetime
    disabled_at: datetime | None = Field(
        description="When it was deleted: nothing is delivered to it any more."
    )


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(
        description="The signing secret (Standard Webhooks, `whsec_…`): shown only in this "
        "answer. Verify each delivery with it, e.g. `standardwebhooks.Webhook(secret)"
        ".verify(body, headers)`.",
        examples=["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
    )


class WebhookAttemptOut(OutputModel):
    id: str
    webhook_id: str = Field(
        description="The message's `webhook-id` header: the same on every attempt of it."
    )
    event_id: int
    event_type: str
    attempt: int = Field(description="1 for the first attempt of the message, then 2, …")
    attempted_at: datetime
    duration_ms: int
    response_status: int | None = Field(description="The receiver's HTTP status, if it answered.")
    response_body: str | None = Field(description="The answer's first 1,000 characters.")
    error: str | None = Field(description="Why no answer came (timeout, connection refused, …).")
    outcome: Literal["delivered", "retrying", "gave_up"] = Field(
        description="delivered: a 2xx answer; retrying: another attempt is due at "
        "`next_attempt_at`; gave_up: the retry horizon is over, the endpoint's next message "
        "follows."
    )
    next_attempt_at: datetime | None
