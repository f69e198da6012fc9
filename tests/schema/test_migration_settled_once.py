"""Migration 0014: upgrade and downgrade over a ledger that holds every legitimate
kind of settlement (each entry settled once), and the indexes each side leaves."""

import asyncio
from collections.abc import Iterator

import pytest

from app.db.migrate import downgrade, upgrade
from tests.db import fresh_database
from tests.schema.test_migrations import _drift, _inspect, _run

ENTRIES = [
    # id, kind, settles
    ("le_pay1", "platform_payout", None),
    ("le_pay2", "platform_payout", None),
    ("le_pay3", "platform_payout", None),
    ("le_wal1", "wallet_refund_eligible", None),
    ("le_wal2", "wallet_refund_eligible", None),
    ("le_str1", "sla_strike", None),
    ("le_ok1", "payout_approved", "le_pay1"),
    ("le_no2", "payout_rejected", "le_pay2"),
    ("le_rev3", "reversal", "le_pay3"),
    ("le_rel1", "wallet_refund_released", "le_wal1"),
    ("le_rev4", "reversal", "le_wal2"),
    ("le_rev5", "reversal", "le_str1"),
]


@pytest.fixture
def empty_database(server_url: str) -> Iterator[str]:
    with fresh_database(server_url, "dispute_migrations_0014") as url:
        yield url


def _indexes(url: str) -> set[tuple[str, str]]:
    rows = asyncio.run(
        _run(
            url,
            [],
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'ledger_entries'"
            " AND indexname LIKE 'uq_ledger_%settle%'",
        )
    )
    return {(name, definition.split(" USING ")[1]) for name, definition in rows}


def test_0014_up_and_down_over_every_kind_of_settlement(empty_database: str) -> None:
    upgrade(empty_database, "0013")
    values = ", ".join(
        f"('{i}', 'V-1', '{k}', {'NULL' if s is None else repr(s)}, 'test')" for i, k, s in ENTRIES
    )
    asyncio.run(
        _run(
            empty_database,
            [
                "INSERT INTO vendors (id, max_leads) VALUES ('V-1', 10)",
                "INSERT INTO ledger_entries (id, vendor_id, kind, settles_entry_id, created_by)"
                f" VALUES {values}",
            ],
            "SELECT 1",
        )
    )
    before = _indexes(empty_database)
    upgrade(empty_database)
    assert _indexes(empty_database) == {
        ("uq_ledger_settles_once", "btree (settles_entry_id) WHERE (settles_entry_id IS NOT NULL)")
    }
    assert _inspect(empty_database, _drift) == []
    downgrade(empty_database, "0013")
    assert _indexes(empty_database) == before
    upgrade(empty_database)
    count = asyncio.run(_run(empty_database, [], "SELECT count(*) FROM ledger_entries"))
    assert count == [(len(ENTRIES),)]
