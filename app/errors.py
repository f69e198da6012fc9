"""Typed domain errors. Services raise them; app.api.problems turns them into problem+json."""

from typing import Any


class ServiceError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers: dict[str, str] = {}


class Unauthorized(ServiceError):
    status, slug, title = 401, "unauthorized", "Missing or unknown API key"


class Forbidden(ServiceError):
    status, slug, title = 403, "forbidden", "Not allowed for this API key"


class NotFound(ServiceError):
    status, slug, title = 404, "not-found", "Not found"


class Conflict(ServiceError):
    status, slug, title = 409, "conflict", "Conflicts with the current state"


class Busy(ServiceError):
    """Concurrent requests on the same case kept undoing this one's transaction."""

    status, slug, title = 409, "busy", "Conflicted with concurrent requests; retry"


class InvalidRequest(ServiceError):
    """A well-formed request the domain refuses, naming the field at fault."""

    status, slug, title = 422, "invalid-request", "The request cannot be processed"

    def __init__(self, detail: str, field: str | None = None, where: str = "body") -> None:
        errors = [{"field": field, "in": where, "message": detail}] if field else None
        super().__init__(detail, errors)


class IdempotencyKeyReused(ServiceError):
    status, slug, title = 422, "idempotency-key-reused", "Idempotency-Key used with another request"


class IdempotencyKeyInFlight(ServiceError):
    status, slug, title = 409, "idempotency-key-in-flight", "A request with this key is in flight"


class PayloadTooLarge(ServiceError):
    status, slug, title = 413, "payload-too-large", "Request body too large"


class RateLimited(ServiceError):
    status, slug, title = 429, "rate-limited", "Too many requests from this API key"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(retry_after)


class Unavailable(ServiceError):
    status, slug, title = 503, "unavailable", "Service temporarily unavailable"
