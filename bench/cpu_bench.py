"""CPU time and SQL statements per request of each submission kind, in process, for the
service and its hand-written reference (bench/reference/), one request after another.

Run from the project root: ``python bench/cpu_bench.py [--requests 300] [--profile KIND]``.
Both apps run in this process behind httpx's ASGI transport (whose own cost both pay), on a
throwaway embedded PostgreSQL unless DATABASE_URL names a server. What is printed is this
process's CPU time per request (PostgreSQL's own work is in its processes, not counted), so
it is steady on a busy machine where wrk's req/s are not: it tells where the service spends
what the load benchmark shows. ``--profile fail-reasons`` prints cProfile's top functions of
the service for that kind.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from statistics import median
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from httpx import ASGITransport, AsyncClient  # noqa: E402
from sqlalchemy import event  # noqa: E402

from app.keys import service as keys  # noqa: E402
from bench.reference import app as reference  # noqa: E402
from bench.submissions import ID, PAID, SUBMISSIONS, Submission  # noqa: E402
from tests.conftest import running_app, suite_settings  # noqa: E402
from tests.db import migrated_database, postgres_server  # noqa: E402
from tests.factories import order_body  # noqa: E402

VENDORS = 50
BLOCK = 20  # requests a side sends in turn


def _body(submission: Submission, target: str) -> dict[str, Any]:
    body = submission.body(target)
    return {k: (target if v == ID else v) for k, v in body.items()}


@asynccontextmanager
async def _clients(url: str) -> AsyncIterator[tuple[AsyncClient, AsyncClient, dict[str, Any]]]:
    settings = suite_settings(log_level="WARNING")
    async with running_app(settings, url) as application:
        headers = {}
        async with application.state.sessionmaker() as session, session.begin():
            for role in ("service", "ops", "support"):
                token = await keys.create(session, role, None, name=f"bench {role}")
                headers[role] = {"Authorization": f"Bearer {token}"}
        pool, config = await reference.start(reference.database_url_of(url), settings)
        reference.app.state.pool, reference.app.state.config = pool, config
        try:
            async with (
                AsyncClient(transport=ASGITransport(app=application), base_url="http://s") as s,
                AsyncClient(transport=ASGITransport(app=reference.app), base_url="http://r") as r,
            ):
                yield s, r, {"headers": headers, "app": application}
        finally:
            await pool.close()


async def _targets(
    client: AsyncClient, headers: dict[str, Any], submission: Submission, prefix: str, n: int
) -> list[str]:
    """What each timed request names: a fresh order each, or the case opened on it."""
    extra: dict[str, Any] = {}
    if submission.orders == "completed":
        extra = {"pickup_status": "completed", "payment": PAID}
    ids = [f"{prefix}{i:05d}" for i in range(n)]
    for i, order_id in enumerate(ids):
        body = order_body(f"V-{i % VENDORS}", **extra)
        answer = await client.put(f"/v1/orders/{order_id}", json=body, headers=headers["service"])
        assert answer.is_success, answer.text
    if submission.before is None:
        return ids
    opened = []
    for order_id in ids:
        case = await _send(client, headers[submission.before.role], submission.before, order_id)
        opened.append(case["id"])
    return opened


async def _send(
    client: AsyncClient, headers: dict[str, Any], submission: Submission, target: str
) -> dict[str, Any]:
    path = submission.path.replace("{id}", target)
    answer = await client.post(path, json=_body(submission, target), headers=headers)
    assert answer.is_success, (path, answer.status_code, answer.text)
    result: dict[str, Any] = answer.json()
    return result


async def _timed(
    client: AsyncClient, headers: dict[str, Any], submission: Submission, targets: list[str]
) -> float:
    started = time.process_time()
    for target in targets:
        await _send(client, headers, submission, target)
    return (time.process_time() - started) / len(targets) * 1000


def main(args: argparse.Namespace) -> None:
    with postgres_server() as server, migrated_database(server, "dispute_cpu") as url:
        asyncio.run(_measure(args, url))


async def _measure(args: argparse.Namespace, url: str) -> None:
    async with _clients(url) as (service, ref, state):
        headers = state["headers"]
        statements = [0]

        def count(*_: Any) -> None:
            statements[0] += 1

        event.listen(state["app"].state.db_engine.sync_engine, "before_cursor_execute", count)
        print(f"{'kind':<18} {'service ms':>10} {'statements':>10} {'reference ms':>12} ratio")
        for submission in SUBMISSIONS:
            if args.kind and submission.name not in args.kind:
                continue
            n = args.requests
            tag = submission.name[:4].upper()
            mine = await _targets(service, headers, submission, f"S{tag}-", n)
            theirs = await _targets(service, headers, submission, f"R{tag}-", n)
            role = headers[submission.role]
            await _timed(ref, {}, submission, theirs[:5])  # warm both up
            await _timed(service, role, submission, mine[:5])
            statements[0] = 0
            profile = cProfile.Profile() if args.profile == submission.name else None
            # Taken in turns, a block each, and the median block kept: a shared machine's
            # noise hits both sides alike and drops out of the middle figure.
            ref_blocks, service_blocks = [], []
            for start in range(5, n, BLOCK):
                ref_blocks.append(await _timed(ref, {}, submission, theirs[start:][:BLOCK]))
                if profile:
                    profile.enable()
                block = mine[start:][:BLOCK]
                service_blocks.append(await _timed(service, role, submission, block))
                if profile:
                    profile.disable()
            ref_ms, service_ms = median(ref_blocks), median(service_blocks)
            per = statements[0] / (n - 5)
            print(
                f"{submission.name:<18} {service_ms:>10.2f} {per:>10.1f} {ref_ms:>12.2f}"
                f" {service_ms / ref_ms:>5.1f}"
            )
            if profile:
                for order in ("tottime", "cumulative"):
                    out = io.StringIO()
                    pstats.Stats(profile, stream=out).sort_stats(order).print_stats(40)
                    print(out.getvalue())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=300, help="timed requests per kind")
    parser.add_argument("--kind", action="append", help="only this kind (repeatable)")
    parser.add_argument("--profile", help="print cProfile's top functions for this kind")
    main(parser.parse_args())
