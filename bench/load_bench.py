"""Throughput and latency of each submission kind through the whole service, against a
hand-written reference of the same durable work (bench/reference/: the same rows and locks
in one transaction, raw asyncpg, no ORM, auth or logs), and, for information, against a bare
baseline (bench/baseline_app.py: the same body validated, one INSERT). All three are driven
by wrk at the same concurrency, in the same run, on loopback.

Run from the project root: ``python bench/load_bench.py [--seconds 10] [--workers 2]``.
PostgreSQL is a throwaway embedded one unless DATABASE_URL names a server; either way the
benchmark works in a fresh database it drops afterwards. Each kind is measured with one
worker process, then with ``--workers``. One order per vendor is put through the API
(``--vendors``), then copied in SQL into the orders each timed request needs, one each,
the vendors taking turns; a kind that needs a case first (a verdict, a vendor's answer) has
it opened through the reference, which writes what the service writes (tests/bench/). The
reference runs first, then the service, each on orders of its own. Machines are shared and
noisy: read the ratios, measured side by side, rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench import wrk  # noqa: E402
from bench.submissions import ID, PAID, SUBMISSIONS, Submission  # noqa: E402
from tests.db import asyncpg_dsn, migrated_database, new_key, postgres_server  # noqa: E402
from tests.factories import order_body  # noqa: E402
from tests.server import COMMAND, Server, env_with, serving  # noqa: E402

THROUGHPUT_GOAL = 0.70  # the service keeps at least this share of the reference's req/s
P99_GOAL = 1.5  # and its p99 is at most this many times the reference's
Headers = dict[str, str]
SIDES = ("service", "reference")
# Every kind but two submits with one key, more than a minute's limit of requests in a run: the
# service is measured with its limiter counting every request but refusing none, as the
# reference, which has no limiter, refuses none.
UNLIMITED = str(10**9)

CLONE = """
INSERT INTO orders (id, vendor_id, customer, customer_phone, device, pickup_slot,
  unlock_credits, quoted_amount, final_invoice_amount, payment, pickup_notes, pickup_status)
SELECT $1 || lpad(g::text, 7, '0'), t.vendor_id, t.customer, t.customer_phone, t.device,
  t.pickup_slot, t.unlock_credits, t.quoted_amount, t.final_invoice_amount, $3::jsonb,
  t.pickup_notes, $4
FROM generate_series(0, $2 - 1) AS g JOIN orders t ON t.id = 'TPL-' || (g % $5)"""
CASES = """
SELECT id FROM cases WHERE order_id LIKE $1 || '%' AND case_type = $2 ORDER BY order_id"""


async def _sql(database_url: str, statement: str, *args: object) -> list[str]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        return [row[0] for row in await connection.fetch(statement, *args)]
    finally:
        await connection.close()


async def _templates(base: str, headers: Headers, vendors: int) -> None:
    """One order per vendor through the API: the vendors, and the rows the copies copy."""
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        gate = asyncio.Semaphore(16)

        async def put(n: int) -> None:
            async with gate:
                answer = await client.put(f"/v1/orders/TPL-{n}", json=order_body(f"V-LOAD-{n}"))
                answer.raise_for_status()

        await asyncio.gather(*(put(n) for n in range(vendors)))


async def _settle(database_url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute("VACUUM ANALYZE")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def settled(database_url: str) -> None:
    """Before each timed run: what the runs before it wrote is vacuumed, analysed and
    checkpointed, so no run pays for its predecessor's autovacuum or dirty pages (the first
    run after the cases were opened used to show half the req/s of the same run later)."""
    asyncio.run(_settle(database_url))


def orders(args: argparse.Namespace, submission: Submission, prefix: str, folder: Path) -> Path:
    """``--requests`` new orders for the kind, the vendors taking turns; their ids file."""
    paid = submission.orders == "completed"
    payment, pickup = (PAID, "completed") if paid else ({"marked": False}, "scheduled")
    args_ = (prefix, args.requests, json.dumps(payment), pickup, args.vendors)
    asyncio.run(_sql(args.database_url, CLONE, *args_))
    return _ids(folder, prefix, [f"{prefix}{g:07d}" for g in range(args.requests)])


def _ids(folder: Path, prefix: str, ids: list[str]) -> Path:
    file = folder / f"{prefix}.ids"
    file.write_text("\n".join(ids) + "\n")
    return file


def submit(
    server: Server,
    submission: Submission,
    headers: Headers,
    load: wrk.Load,
    folder: Path,
    prefix: str,
    ids: Path | None,
) -> wrk.Figures:
    lua = wrk.script(
        folder,
        load,
        method=submission.method,
        path=submission.path,
        body=json.dumps(submission.body(ID)),
        headers=headers,
        prefix=prefix,
        ids=ids,
    )
    return wrk.run(server.base, lua, load, ids)


def rss_mb(server: Server, workers: int) -> list[float]:
    """Resident memory of each worker process (the process itself with one worker)."""
    pids = [server.process.pid]
    if workers > 1:
        pids = [
            int(p.name)
            for p in Path("/proc").iterdir()
            if p.name.isdigit() and _parent(p) == server.process.pid and _is_worker(p)
        ]
    return [_rss(pid) for pid in sorted(pids)]


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _is_worker(proc: Path) -> bool:
    try:
        return b"spawn_main" in (proc / "cmdline").read_bytes()
    except OSError:
        return False


def _rss(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _row(kind: str, workers: int, side: str, f: wrk.Figures) -> str:
    flags = [f"{f.non_2xx} non-2xx"] if f.non_2xx else []
    flags += [f"{f.socket_errors} socket errors"] if f.socket_errors else []
    flags += ["its orders ran out: the rate is understated, raise --requests"] if f.ran_out else []
    return (
        f"{kind:<18} {workers:>7} {side:<9} {f.rps:>9,.0f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f}"
        f"  {', '.join(flags)}"
    )


Measured = dict[tuple[str, str], wrk.Figures]  # (kind, side) -> figures


def run_round(
    workers: int, args: argparse.Namespace, keys: dict[str, Headers], folder: Path
) -> tuple[Measured, dict[str, list[float]]]:
    load = wrk.Load(args.threads, args.connections, args.seconds)
    setup = wrk.Load(args.threads, args.connections, max(args.seconds * 3, args.requests / 150))
    measured: Measured = {}
    memory: dict[str, list[float]] = {}
    ids: dict[tuple[str, str], Path] = {}
    for submission in args.submissions:
        for side in ("service", "reference"):
            prefix = f"{submission.name[:4].upper()}{side[0]}{workers}-"
            ids[submission.name, side] = orders(args, submission, prefix, folder)
    reference_env = env_with(REFERENCE_DATABASE_URL=args.database_url)
    reference_command = [sys.executable, "-m", "uvicorn", "bench.reference.app:app"]
    with serving(
        reference_env, "--workers", str(workers), "--no-access-log", command=reference_command
    ) as reference:
        for submission in args.submissions:
            if submission.before is not None:  # open the cases it answers, on both sides
                for side in ("service", "reference"):
                    prefix = f"{submission.name[:4].upper()}{side[0]}{workers}-"
                    before = submit(
                        reference, submission.before, {}, setup, folder, "P" + prefix,
                        ids[submission.name, side],
                    )  # fmt: skip
                    time.sleep(0.5)  # requests cut off when wrk stopped may still commit
                    opened = asyncio.run(
                        _sql(args.database_url, CASES, prefix, submission.case_type)
                    )
                    print(f"  {submission.name}: {len(opened)} cases opened ({before.rps:,.0f}/s)")
                    ids[submission.name, side] = _ids(folder, "C" + prefix, opened)
        for submission in args.submissions:
            settled(args.database_url)
            measured[submission.name, "reference"] = submit(
                reference, submission, {}, load, folder, f"R{workers}{submission.name[:4]}-",
                ids[submission.name, "reference"],
            )  # fmt: skip
        memory["reference"] = rss_mb(reference, workers)
    service_env = env_with(DATABASE_URL=args.database_url, RATE_LIMIT_PER_MINUTE=UNLIMITED)
    with serving(service_env, "--workers", str(workers)) as service:
        for submission in args.submissions:
            settled(args.database_url)
            measured[submission.name, "service"] = submit(
                service, submission, keys[submission.role], load, folder,
                f"S{workers}{submission.name[:4]}-", ids[submission.name, "service"],
            )  # fmt: skip
        memory["service"] = rss_mb(service, workers)
    baseline_env = env_with(BASELINE_DATABASE_URL=args.database_url)
    baseline_command = [sys.executable, "-m", "uvicorn", "bench.baseline_app:app"]
    with serving(
        baseline_env, "--workers", str(workers), "--no-access-log", command=baseline_command
    ) as baseline:
        for submission in args.submissions:
            settled(args.database_url)
            measured[submission.name, "baseline"] = submit(
                baseline, submission, {}, load, folder, f"B{workers}{submission.name[:4]}-", None
            )
        memory["baseline"] = rss_mb(baseline, workers)
    return measured, memory


def report(
    workers: int, measured: Measured, memory: dict[str, list[float]], kinds: list[Submission]
) -> list[str]:
    lines = []
    for submission in kinds:
        kind = submission.name
        for side in ("service", "reference", "baseline"):
            lines.append(_row(kind, workers, side, measured[kind, side]))
        full, ref = measured[kind, "service"], measured[kind, "reference"]
        rps, p99 = full.rps / ref.rps, full.p99_ms / ref.p99_ms
        met = "meets" if rps >= THROUGHPUT_GOAL and p99 <= P99_GOAL else "misses"
        verdict = (
            f"{met} the goals: >= {THROUGHPUT_GOAL:.2f} of the reference's req/s, "
            f"p99 <= {P99_GOAL}x"
        )
        if full.non_2xx or ref.non_2xx:  # an error answers faster than the work: no ratio
            verdict = "not comparable: a side answered errors"
        lines.append(
            f"{'':<18} {workers:>7} {'ratio':<9} {rps:>9.2f} {'':>8} {p99:>7.2f}x  ({verdict})"
        )
    for side, sizes in memory.items():
        shown = ", ".join(f"{mb:.0f}" for mb in sizes)
        lines.append(f"{'RSS MB per worker':<18} {workers:>7} {side:<9} {shown}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="length of each timed run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, second round")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--vendors", type=int, default=500, help="vendors the orders go to")
    parser.add_argument(
        "--requests",
        type=int,
        default=12000,
        help="orders made for each kind and side: more than a timed run uses",
    )
    parser.add_argument("--kind", action="append", help="only this kind (repeatable)")
    args = parser.parse_args()
    args.submissions = [s for s in SUBMISSIONS if not args.kind or s.name in args.kind]
    if not args.submissions:
        sys.exit(f"load_bench: no kind {args.kind}; kinds: {[s.name for s in SUBMISSIONS]}")
    if shutil.which("wrk") is None:
        sys.exit(
            "load_bench: wrk is not installed; install it (apt-get install -y wrk) and run again."
        )
    print(
        f"wrk: {args.threads} threads, {args.connections} connections, at most "
        f"{args.seconds:g} s or {args.requests:,} requests per run; {args.vendors:,} vendors; "
        f"{COMMAND[0]}"
    )
    with (
        postgres_server() as server_url,
        migrated_database(server_url, "dispute_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="dispute-bench-") as folder,
    ):
        args.database_url = database_url
        # Every role that submits, the cases' openers included: the reference acts as each.
        roles = {"service", *(s.role for s in args.submissions)}
        roles |= {s.before.role for s in args.submissions if s.before is not None}
        keys = {role: new_key(database_url, role) for role in sorted(roles)}
        with serving(env_with(DATABASE_URL=database_url)) as service:
            asyncio.run(_templates(service.base, keys["service"], args.vendors))
        rounds = {
            w: run_round(w, args, keys, Path(folder)) for w in dict.fromkeys((1, args.workers))
        }
    print(f"{'kind':<18} {'workers':>7} {'side':<9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for workers, (measured, memory) in rounds.items():
        print("\n".join(report(workers, measured, memory, args.submissions)))
    if len(rounds) == 2:
        (one, _), (many, _) = rounds.values()
        print(f"scaling to {args.workers} workers (req/s with {args.workers} / with 1):")
        for s in args.submissions:
            full, ref = (many[s.name, x].rps / one[s.name, x].rps for x in SIDES)
            print(f"  {s.name:<18} service x{full:.2f}, reference x{ref:.2f}")


if __name__ == "__main__":
    main()
