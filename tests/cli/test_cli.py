"""The dispute-service command, run as a user runs it."""

import asyncio
from pathlib import Path

import asyncpg
import httpx

from tests.db import asyncpg_dsn
from tests.server import env_with, run, serving


def test_keys_create_prints_only_the_key_and_it_works(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url)
    created = run("keys", "create", "--role", "vendor", "--vendor-id", "V-9", env=env)
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dsk_")
    with serving(env) as server:
        base = server.base
        headers = {"Authorization": f"Bearer {lines[0]}"}
        # The key is a vendor key for V-9: it may read V-9, not V-1.
        assert httpx.get(f"{base}/v1/vendors/V-1", headers=headers).status_code == 403
        assert httpx.get(f"{base}/v1/vendors/V-9", headers=headers).status_code == 404


def test_keys_create_refuses_bad_roles(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url)
    assert run("keys", "create", "--role", "admin", env=env).returncode != 0
    missing = run("keys", "create", "--role", "vendor", env=env)
    assert missing.returncode != 0 and "--vendor-id" in missing.stderr
    assert run("keys", "create", "--role", "ops", "--vendor-id", "V-1", env=env).returncode != 0


def test_embedded_database_survives_a_restart(tmp_path: Path) -> None:
    env = env_with(DATA_DIR=str(tmp_path / "data"))
    key = run("keys", "create", "--role", "service", env=env)
    assert key.returncode == 0, key.stderr
    headers = {"Authorization": f"Bearer {key.stdout.strip()}"}
    order = {
        "vendor_id": "V-1",
        "customer": {"name": "A", "phone": "+919812345678"},
        "device": {"model": "iPhone XR", "variant": "128GB"},
        "unlock_credits": 10,
        "final_invoice_amount": 100_000,
    }
    with serving(env) as server:
        created = httpx.put(f"{server.base}/v1/orders/O-1", json=order, headers=headers)
        assert created.status_code == 201
    with serving(env) as server:
        again = httpx.get(f"{server.base}/v1/orders/O-1", headers=headers)
        assert again.status_code == 200 and again.json()["vendor_id"] == "V-1"
    assert (tmp_path / "data" / "pgdata" / "PG_VERSION").exists()
    # Stopping the service (SIGTERM) stops the embedded PostgreSQL it started.
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()


def test_reports_prepare_computes_the_finished_spans_ahead(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url)
    done = run("reports", "prepare", "--weeks", "6", env=env)
    assert done.returncode == 0, done.stderr
    spans = asyncio.run(_scalar(database_url, "SELECT count(*) FROM report_spans"))
    assert spans >= 4  # the whole spans of the six weeks, less those whose clocks still run
    assert asyncio.run(_scalar(database_url, "SELECT count(*) FROM report_refresh")) == 1


async def _scalar(database_url: str, query: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        value: int = await connection.fetchval(query)
    finally:
        await connection.close()
    return value


def test_migrate_is_repeatable(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url)
    assert run("migrate", env=env).returncode == 0
    assert run("migrate", env=env).returncode == 0
