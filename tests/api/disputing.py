"""What the vendor-response tests share: a completed order of vendor V-1 with a dispute on
it, the vendor's proof of payment, and the ledger as (kind, amount) pairs."""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import ledger, open_dispute, put_completed_order

PROOF = {"kind": "payment_proof", "ref": "UPI-4821-XY"}
INVOICE = 150_000


async def dispute(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    *,
    invoice: int = INVOICE,
    notes: list[dict[str, Any]] | None = None,
    claim: str = "not_paid",
    **extra: Any,
) -> str:
    await put_completed_order(
        client,
        service,
        "ORD-1",
        vendor_id="V-1",
        final_invoice_amount=invoice,
        pickup_notes=notes or [],
    )
    case_id: str = (await open_dispute(client, support, "ORD-1", claim, **extra))["id"]
    return case_id


async def kinds(client: AsyncClient, headers: Headers) -> list[tuple[str, int | None]]:
    return [(e["kind"], e["amount"]) for e in await ledger(client, headers)]
