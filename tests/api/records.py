"""Payment records of one order, ORD-1, as the reconciliation tests send them."""

from typing import Any

from httpx import AsyncClient

from tests.conftest import Headers
from tests.factories import payment_record

INVOICE = 1_500_000
Record = dict[str, Any]


async def case_of(client: AsyncClient, headers: Headers, case_id: str) -> dict[str, Any]:
    case: dict[str, Any] = (await client.get(f"/v1/cases/{case_id}", headers=headers)).json()
    return case


def pay(reference: str, amount: Any = INVOICE, **extra: Any) -> Record:
    return payment_record("ORD-1", reference, amount, **extra)
