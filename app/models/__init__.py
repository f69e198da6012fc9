"""Tables, one module each. Importing this package registers them all on ``Base.metadata``."""

from app.models.api_key import ApiKey
from app.models.base import Base
from app.models.case import Case
from app.models.deadline import Deadline
from app.models.decision import Decision
from app.models.event import Event
from app.models.feedback import CaseFeedback
from app.models.idempotency import IdempotencyRecord
from app.models.ledger import LedgerEntry
from app.models.order import Order
from app.models.payment_record import PaymentRecord
from app.models.report import (
    ReportDuration,
    ReportRefresh,
    ReportSpan,
    ReportSpanClocks,
    ReportTally,
)
from app.models.vendor import Vendor
from app.models.webhook import WebhookAttempt, WebhookEndpoint, WebhookMessage

__all__ = [
    "ApiKey",
    "Base",
    "Case",
    "CaseFeedback",
    "Deadline",
    "Decision",
    "Event",
    "IdempotencyRecord",
    "LedgerEntry",
    "Order",
    "PaymentRecord",
    "ReportDuration",
    "ReportRefresh",
    "ReportSpan",
    "ReportSpanClocks",
    "ReportTally",
    "Vendor",
    "WebhookAttempt",
    "WebhookEndpoint",
    "WebhookMessage",
]
