"""The database itself refuses a second settlement of a ledger entry, whatever its kind: a
payout approved and also reversed (a cancelled payout that paid), or reversed and then
approved. The service never tries (every writer holds the vendor's lock first); this is
the refusal that stands if it ever slipped."""

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import Headers
from tests.factories import (
    HIGH,
    open_dispute,
    put_completed_order,
    vendor_response,
    waiting_payouts,
)

SETTLE = text(
    "INSERT INTO ledger_entries (id, vendor_id, kind, amount, settles_entry_id, created_by)"
    " VALUES (:id, 'V-1', :kind, :amount, :entry, 'test')"
)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("payout_approved", "reversal"),
        ("reversal", "payout_approved"),
        ("payout_rejected", "reversal"),
        ("payout_approved", "payout_rejected"),
    ],
)
async def test_a_waiting_payout_is_settled_once_whatever_the_kinds(
    client: AsyncClient,
    service: Headers,
    support: Headers,
    ops: Headers,
    finance_manager: Headers,
    sessionmaker: async_sessionmaker[AsyncSession],
    first: str,
    second: str,
) -> None:
    await put_completed_order(client, service, "ORD-1", vendor_id="V-1", final_invoice_amount=HIGH)
    case = await open_dispute(client, support, "ORD-1")
    await vendor_response(client, ops, case["id"], "not_paid")
    [waiting] = await waiting_payouts(client, finance_manager)
    entry = {"entry": waiting["id"], "amount": None}
    async with sessionmaker() as session, session.begin():
        await session.execute(SETTLE, {"id": "le_first", "kind": first, **entry})
    with pytest.raises(IntegrityError, match="uq_ledger_settles_once"):
        async with sessionmaker() as session, session.begin():
            await session.execute(SETTLE, {"id": "le_second", "kind": second, **entry})
    async with sessionmaker() as session:
        kinds = (
            await session.execute(
                text("SELECT kind FROM ledger_entries WHERE settles_entry_id = :e"),
                {"e": waiting["id"]},
            )
        ).scalars()
        assert list(kinds) == [first]
