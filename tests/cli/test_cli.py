"""The dispute-service command, run as a user runs it."""

import asyncio
import json
import re
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.db import asyncpg_dsn
from tests.server import env_with, free_port, run, serving


def test_keys_create_prints_only_the_key_and_it_works(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url)
    created = run(
        "keys", "create", "--role", "vendor", "--name", "V-9 app", "--vendor-id", "V-9", env=env
    )
    assert created.returncode == 0, created.stderr
    lines = created.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dsk_")
    assert re.fullmatch(r"key_[0-9A-Z]{26}\n", created.stderr)
    with serving(env) as server:
        base = server.base
        headers = {"Authorization": f"Bearer {lines[0]}"}
        # The key is a vendor key for V-9: it may read V-9, not V-1.
        assert httpx.get(f"{base}/v1/vendors/V-1", headers=headers).status_code == 403
        assert httpx.get(f"{base}/v1/vendors/V-9", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("create", "--role", "admin", "--name", "x"), "invalid choice: 'admin'"),
        (("create", "--role", "ops"), "required: --name"),
        (("create", "--role", "vendor", "--name", "x"), "vendor id is required"),
        (("create", "--role", "ops", "--name", "x", "--vendor-id", "V-1"), "only for it"),
        (("create", "--role", "vendor", "--name", "x", "--vendor-id", "V 1"), "vendor_id 'V 1'"),
        (("create", "--role", "ops", "--name", ""), "name must be 1 to 200 characters"),
        (("revoke", "key_01NOPE"), "no key key_01NOPE"),
        (("revoke", "../etc"), "key_id '../etc'"),
        (("rotate",), "required: KEY_ID"),
    ],
)
def test_a_bad_keys_argument_is_one_line_and_exit_code_2(
    database_url: str, args: tuple[str, ...], says: str
) -> None:
    refused = run("keys", *args, env=env_with(DATABASE_URL=database_url))
    assert refused.returncode == 2
    assert refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("dispute-service") and says in line, line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        # Nothing listens there: the server is not running.
        ("postgresql://ravi:s3cret@127.0.0.1:{port}/disputes", "cannot reach"),
        ("mysql://ravi:s3cret@127.0.0.1/disputes", "must start with postgresql://"),
    ],
)
@pytest.mark.parametrize("command", [("keys", "list"), ("migrate",)])
def test_a_database_url_that_does_not_work_is_one_line_without_its_password(
    url: str, says: str, command: tuple[str, ...]
) -> None:
    env = env_with(DATABASE_URL=url.format(port=free_port()))
    refused = run(*command, env=env)
    assert refused.returncode == 1, refused
    [line] = refused.stderr.strip().splitlines()
    assert line.startswith("dispute-service: ") and says in line, line
    assert "DATABASE_URL" in line and "s3cret" not in line, line


def _keys(env: dict[str, str], *args: str) -> str:
    done = run("keys", *args, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _listed(env: dict[str, str], key_id: str) -> dict[str, Any]:
    rows: list[dict[str, Any]] = json.loads(_keys(env, "list", "--json"))
    return next(row for row in rows if row["id"] == key_id)


def test_a_key_is_listed_rotated_and_revoked_while_the_service_runs(database_url: str) -> None:
    env = env_with(DATABASE_URL=database_url, API_KEY_CACHE_SECONDS="0")
    made = run("keys", "create", "--role", "service", "--name", "Order system", env=env)
    key_id, token = made.stderr.strip(), made.stdout.strip()
    listed = _listed(env, key_id)
    assert (listed["role"], listed["name"], listed["vendor_id"]) == (
        "service",
        "Order system",
        None,
    )
    assert listed["created_at"] and listed["last_used_at"] is None
    table = _keys(env, "list").splitlines()
    assert table[0].split() == [
        "id",
        "role",
        "vendor",
        "name",
        "created",
        "last",
        "used",
        "rotated",
        "revoked",
    ]
    [row] = [line for line in table if line.startswith(key_id)]
    assert row.split()[1:4] == ["service", "-", "Order"]

    def status(secret: str) -> int:
        headers = {"Authorization": f"Bearer {secret}"}
        return httpx.get(f"{server.base}/v1/vendors/V-NO-SUCH", headers=headers).status_code

    with serving(env) as server:
        assert status(token) == 404
        rotated = run("keys", "rotate", key_id, env=env)
        assert rotated.returncode == 0 and rotated.stderr.strip() == key_id
        new_token = rotated.stdout.strip()
        assert new_token.startswith("dsk_") and new_token != token
        assert status(token) == 401 and status(new_token) == 404
        revoked = run("keys", "revoke", key_id, env=env)
        assert revoked.returncode == 0 and "revoked" in revoked.stderr
        assert status(new_token) == 401
    # The server wrote the key's last use as it stopped.
    listed = _listed(env, key_id)
    assert listed["name"] == "Order system" and listed["role"] == "service"
    assert listed["last_used_at"] and listed["rotated_at"] and listed["revoked_at"]


def test_embedded_database_survives_a_restart() -> None:
    # A folder of its own, not pytest's tmp_path: run as root, the embedded PostgreSQL runs
    # as a user of its own, which pytest's private (0700) folders, shared by every pytest
    # run of this user, would lock out whenever another run tidies them.
    with tempfile.TemporaryDirectory(prefix="dispute-restart-") as folder:
        _survives_a_restart(Path(folder))


def _survives_a_restart(tmp_path: Path) -> None:
    env = env_with(DATA_DIR=str(tmp_path / "data"))
    key = run("keys", "create", "--role", "service", "--name", "Order system", env=env)
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


def test_an_embedded_database_that_cannot_be_written_is_refused_in_one_line(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    data_dir = blocker / "var"  # cannot be made, for root too
    for command in (["migrate"], ["serve", "--port", "1"]):
        refused = run(*command, env=env_with(DATA_DIR=str(data_dir)))
        assert refused.returncode == 1, refused
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith("dispute-service: cannot start the embedded PostgreSQL")
        assert f"DATA_DIR={data_dir}" in lines[0] and "DATABASE_URL" in lines[0]
