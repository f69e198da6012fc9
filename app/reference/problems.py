"""Every problem type the service answers with, once: its status, its title, when it happens
and what a client should do. A problem's ``type`` is PROBLEM_TYPE_BASE + its slug, and
``GET /problems/{slug}`` serves the page drawn from this table."""

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class ProblemType:
    status: int | None  # None: the status of the error it stands for
    title: str
    when: str
    what_to_do: str


PROBLEM_TYPES: dict[str, ProblemType] = {
    "bad-request": ProblemType(
        400,
        "Bad request",
        "The request was refused for a reason the detail gives.",
        "Read the detail, correct the request and send it again.",
    ),
    "malformed-request": ProblemType(
        400,
        "Malformed request",
        "The body could not be read as the content type it declared.",
        "Send JSON with Content-Type: application/json.",
    ),
    "too-deeply-nested": ProblemType(
        400,
        "Request body nested too deeply",
        "The JSON body nests arrays and objects more than 32 levels deep.",
        "No request of this API needs that depth: flatten the body.",
    ),
    "unauthorized": ProblemType(
        401,
        "Missing or unknown API key",
        "No Authorization: Bearer header was sent, or its key is unknown, was rotated out or "
        "was revoked.",
        "Send Authorization: Bearer <key> with a key made by `dispute-service keys create`; "
        "after a rotation, use the new secret.",
    ),
    "forbidden": ProblemType(
        403,
        "Not allowed for this API key",
        "The key's role lacks the right this operation needs, or the records belong to "
        "another vendor. The detail names the roles allowed.",
        "Use a key of a role that may do this (README, Who may do what); a vendor key acts "
        "only on its own vendor's orders and cases.",
    ),
    "not-found": ProblemType(
        404,
        "Not found",
        "No record has the id in the path, or no route has this path.",
        "Check the id. An order must be sent (PUT /v1/orders/{order_id}) before anything is "
        "filed on it.",
    ),
    "method-not-allowed": ProblemType(
        405,
        "Method not allowed",
        "The path exists but not with this method.",
        "Use one of the methods the Allow header lists.",
    ),
    "request-timeout": ProblemType(
        408,
        "Request body too slow",
        "The body had not fully arrived BODY_TIMEOUT_SECONDS after the request began. The "
        "connection is closed.",
        "Send the whole body at once, on a new connection; retry with the same Idempotency-Key.",
    ),
    "conflict": ProblemType(
        409,
        "Conflicts with the current state",
        "The request does not fit the record as it is now: a case already decided, a "
        "payout already settled, feedback already given, an order field fixed once it has "
        "cases.",
        "Read the record (GET) to see its state; sending the same request again will not help.",
    ),
    "busy": ProblemType(
        409,
        "Conflicted with concurrent requests; retry",
        "Concurrent requests on the same case kept undoing this one's transaction, and it "
        "was not applied.",
        "Retry after a moment with the same Idempotency-Key.",
    ),
    "idempotency-key-in-flight": ProblemType(
        409,
        "A request with this key is in flight",
        "A request with the same Idempotency-Key from the same API key is still running.",
        "Wait for it, then retry with the same key: you will get its answer.",
    ),
    "payload-too-large": ProblemType(
        413,
        "Request body too large",
        "The body is larger than MAX_BODY_BYTES (MAX_BATCH_BODY_BYTES for "
        "POST /v1/payment-records).",
        "Send less: split a batch of payment records into smaller batches.",
    ),
    "validation-error": ProblemType(
        422,
        "Invalid request",
        "The request does not fit the operation's schema: a field missing, of the wrong "
        "type, out of range, unknown, or a code not in the rule tables.",
        "Each entry of errors names the field, where it is (body, query, path, header) and "
        "what is wrong; correct them all and send again.",
    ),
    "invalid-request": ProblemType(
        422,
        "The request cannot be processed",
        "The request fits the schema but a rule of the domain refuses it: a claim with no "
        "shortfall, an unknown order named in the body, a case of another type.",
        "errors names the field at fault; docs/ explains the rule.",
    ),
    "idempotency-key-reused": ProblemType(
        422,
        "Idempotency-Key used with another request",
        "This Idempotency-Key was first used with another body or path (within "
        "IDEMPOTENCY_RETENTION_HOURS).",
        "Use a fresh key for each distinct request; reuse a key only to retry the same one.",
    ),
    "rate-limited": ProblemType(
        429,
        "Too many requests from this API key",
        "The key made more than RATE_LIMIT_PER_MINUTE requests to this process in the last minute.",
        "Wait the Retry-After header's seconds, then retry; slow down.",
    ),
    "internal-error": ProblemType(
        500,
        "Internal error",
        "Something the service did not expect; nothing of the request was kept.",
        "Retry with the same Idempotency-Key; if it persists, report the X-Request-ID.",
    ),
    "unavailable": ProblemType(
        503,
        "Service temporarily unavailable",
        "The database is not answering (down, restarting, or every connection busy); "
        "nothing of the request was kept.",
        "Retry after the Retry-After header's seconds, with the same Idempotency-Key.",
    ),
    "http-error": ProblemType(
        None,
        "HTTP error",
        "An HTTP-level error with no type of its own; status and detail say which.",
        "Read the detail.",
    ),
}

# The problem type of an HTTP error raised by the framework rather than by the service.
HTTP_STATUS_TYPES = {
    400: "malformed-request",
    401: "unauthorized",
    404: "not-found",
    405: "method-not-allowed",
    413: "payload-too-large",
}


def type_for_status(status: int) -> str:
    return HTTP_STATUS_TYPES.get(status, "http-error")


def page(slug: str, type_uri: str) -> str:
    """The problem type's page, as small HTML."""
    problem = PROBLEM_TYPES[slug]
    esc = html.escape
    status = f"HTTP {problem.status}" if problem.status else "Any HTTP error status"
    return (
        '<!doctype html>\n<html lang="en">\n<head><meta charset="utf-8">'
        f"<title>{esc(problem.title)}</title></head>\n<body>\n"
        f"<h1>{esc(problem.title)}</h1>\n"
        f"<p>{status}, <code>application/problem+json</code> with type "
        f"<code>{esc(type_uri)}</code>.</p>\n"
        f"<h2>When it happens</h2>\n<p>{esc(problem.when)}</p>\n"
        f"<h2>What to do</h2>\n<p>{esc(problem.what_to_do)}</p>\n"
        "</body>\n</html>\n"
    )
