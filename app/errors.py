"""Typed domain errors. Services raise them; app.api.problems turns them into problem+json.

Each names its problem type by slug; the type's title and page are app.reference.problems."""

from typing import Any

# The error type of a field a domain rule refuses (a schema error carries Pydantic's type).
REFUSED = {"type": "refused"}


class ServiceError(Exception):
    status = 400
    slug = "bad-request"

    def __init__(self, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers: dict[str, str] = {}


class Unauthorized(ServiceError):
    status, slug = 401, "unauthorized"


class Forbidden(ServiceError):
    status, slug = 403, "forbidden"


class NotFound(ServiceError):
    status, slug = 404, "not-found"


class Conflict(ServiceError):
    status, slug = 409, "conflict"


class Busy(ServiceError):
    """Concurrent requests on the same case kept undoing this one's transaction."""

    status, slug = 409, "busy"


class InvalidRequest(ServiceError):
    """A well-formed request the domain refuses, naming the field at fault."""

    status, slug = 422, "invalid-request"

    def __init__(self, detail: str, field: str | None = None, where: str = "body") -> None:
        errors = [{"field": field, "in": where, "message": detail} | REFUSED] if field else None
        super().__init__(detail, errors)


class IdempotencyKeyReused(ServiceError):
    status, slug = 422, "idempotency-key-reused"


class IdempotencyKeyInFlight(ServiceError):
    status, slug = 409, "idempotency-key-in-flight"


class PayloadTooLarge(ServiceError):
    status, slug = 413, "payload-too-large"


class RateLimited(ServiceError):
    status, slug = 429, "rate-limited"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.headers["Retry-After"] = str(retry_after)


class Unavailable(ServiceError):
    status, slug = 503, "unavailable"
