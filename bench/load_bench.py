"""Throughput and latency of each submission kind through the whole service, against a bare
baseline (bench/baseline_app.py: same body, same Pydantic model, one asyncpg INSERT), both
driven by wrk at the same fixed concurrency, in the same run, on loopback.

Run from the project root: ``python bench/load_bench.py [--seconds 10] [--workers 2]``.
PostgreSQL is a throwaway embedded one unless DATABASE_URL names a server; either way the
benchmark works in a fresh database it drops afterwards. Each kind is measured with one
worker process, then with ``--workers``. Orders are put through the API before timing, spread
over ``--vendors`` vendors (a marketplace's many; ``--vendors 1`` shows one vendor's worst
case, where every decision that locks the vendor waits for the one before), and every timed
request files against an order of its own. Machines are shared and noisy: read
the ratio, which is measured side by side, rather than the absolute figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from bench.submissions import ORDER_ID, SUBMISSIONS, Submission  # noqa: E402
from tests.db import asyncpg_dsn, migrated_database, new_key, postgres_server  # noqa: E402
from tests.server import COMMAND, Server, env_with, serving  # noqa: E402

# Stands for the vendor in an order's body: the load script puts one of --vendors there.
VENDOR = "__VENDOR__"
GOAL = 0.70  # the full path should keep at least this share of the baseline's throughput

# One request per order: thread t of T takes ids t, t+T, t+2T, ... of IDS_FILE; with no file,
# or once the file runs out, it makes ids of its own (which then name no pre-created order).
LUA = r"""
local threads = {}
local counter = 0

function setup(thread)
  thread:set("first", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  if IDS_FILE ~= "" then
    for line in io.lines(IDS_FILE) do ids[#ids + 1] = line end
  end
  k = 0
end

function request()
  local id = ids[first + k * NTHREADS + 1] or (PREFIX .. first .. "-" .. k)
  local vendor = "V-LOAD-" .. ((first + k * NTHREADS) % VENDORS)
  k = k + 1
  local body = string.gsub(table.concat(BODY, id), VENDOR, vendor)
  return wrk.format(METHOD, table.concat(PATH, id), HEADERS, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "non_2xx": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def _lua_string(value: str) -> str:
    assert "]==]" not in value
    return f"[==[{value}]==]"


def _lua_parts(text: str) -> str:
    return "{" + ", ".join(_lua_string(part) for part in text.split(ORDER_ID)) + "}"


def script(
    folder: Path,
    *,
    method: str,
    path: str,
    body: str,
    headers: dict[str, str],
    threads: int,
    prefix: str,
    ids: Path | None = None,
    vendors: int = 1,
) -> Path:
    headers = {**headers, "Content-Type": "application/json"}
    lua_headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    settings = "\n".join(
        [
            f"METHOD = {_lua_string(method)}",
            f"PATH = {_lua_parts(path.replace('{order_id}', ORDER_ID))}",
            f"BODY = {_lua_parts(body)}",
            f"HEADERS = {{{lua_headers}}}",
            f"NTHREADS = {threads}",
            f"PREFIX = {_lua_string(prefix)}",
            f"IDS_FILE = {_lua_string(str(ids) if ids else '')}",
            f"VENDOR = {_lua_string(VENDOR)}",
            f"VENDORS = {vendors}",
        ]
    )
    file = folder / f"{prefix}.lua"
    file.write_text(settings + "\n" + LUA)
    return file


def wrk(base: str, lua: Path, args: argparse.Namespace, seconds: float) -> Figures:
    command = [
        "wrk",
        "-t",
        str(args.threads),
        "-c",
        str(args.connections),
        "-d",
        f"{math.ceil(seconds)}s",  # wrk takes whole seconds
        "--timeout",
        "10s",
        "-s",
        str(lua),
        base,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    line = next((x for x in done.stdout.splitlines() if x.startswith('{"requests"')), None)
    if done.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    raw = json.loads(line)
    return Figures(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        non_2xx=raw["non_2xx"],
        socket_errors=raw["socket_errors"],
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
    )


def is_served(base: str, submission: Submission) -> bool:
    """Whether the running service has the endpoint: without a key it is 401, else 404/405."""
    path = submission.path.replace("{order_id}", "BENCH-PROBE")
    status = httpx.request(submission.method, f"{base}{path}", json={}, timeout=10).status_code
    return status not in (404, 405)


async def _open_orders(database_url: str, prefix: str) -> list[str]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await connection.fetch(
            "SELECT id FROM orders WHERE id LIKE $1 AND status = 'open' ORDER BY id",
            f"{prefix}%",
        )
    finally:
        await connection.close()
    return [row["id"] for row in rows]


def put_orders(
    service: Server,
    submission: Submission,
    headers: dict[str, str],
    args: argparse.Namespace,
    folder: Path,
    prefix: str,
) -> tuple[Path, Figures]:
    """Puts orders through the API with wrk for setup_factor x the timed run; lists them."""
    lua = script(
        folder,
        method="PUT",
        path="/v1/orders/{order_id}",
        body=json.dumps(submission.order(VENDOR)),
        headers=headers,
        threads=args.threads,
        prefix=prefix,
        vendors=args.vendors,
    )
    figures = wrk(service.base, lua, args, args.seconds * args.setup_factor)
    time.sleep(0.5)  # requests cut off when wrk stopped may still be committing
    ids = asyncio.run(_open_orders(args.database_url, prefix))
    file = folder / f"{prefix}.ids"
    file.write_text("\n".join(ids) + "\n")
    return file, figures


def submit(
    server: Server,
    submission: Submission,
    headers: dict[str, str],
    args: argparse.Namespace,
    folder: Path,
    prefix: str,
    ids: Path | None,
) -> Figures:
    lua = script(
        folder,
        method=submission.method,
        path=submission.path,
        body=json.dumps(submission.body(ORDER_ID)),
        headers=headers,
        threads=args.threads,
        prefix=prefix,
        ids=ids,
    )
    return wrk(server.base, lua, args, args.seconds)


def _row(kind: str, workers: int, side: str, f: Figures) -> str:
    flags = []
    if f.non_2xx:
        flags.append(f"{f.non_2xx} non-2xx")
    if f.socket_errors:
        flags.append(f"{f.socket_errors} socket errors")
    return (
        f"{kind:<18} {workers:>7} {side:<9} {f.rps:>9,.0f} {f.p50_ms:>8.1f} {f.p99_ms:>8.1f}"
        f"  {', '.join(flags)}"
    )


def run_workers(
    workers: int, args: argparse.Namespace, keys: dict[str, dict[str, str]], folder: Path
) -> list[str]:
    lines = []
    measured: dict[str, Figures] = {}
    env = env_with(DATABASE_URL=args.database_url)
    with serving(env, "--workers", str(workers)) as service:
        for submission in SUBMISSIONS:
            if not is_served(service.base, submission):
                lines.append(f"{submission.name:<18} {workers:>7} skipped: not served yet")
                continue
            prefix = f"{submission.name[:4].upper()}-W{workers}-"
            ids, setup = put_orders(service, submission, keys["service"], args, folder, prefix)
            lines.append(_row("(put orders)", workers, "service", setup))
            measured[submission.name] = submit(
                service, submission, keys[submission.role], args, folder, prefix + "X", ids
            )
    baseline_env = env_with(BASELINE_DATABASE_URL=args.database_url)
    baseline_command = [sys.executable, "-m", "uvicorn", "bench.baseline_app:app"]
    with serving(
        baseline_env, "--workers", str(workers), "--no-access-log", command=baseline_command
    ) as baseline:
        for submission in SUBMISSIONS:
            if submission.name not in measured:
                continue
            if not is_served(baseline.base, submission):
                raise SystemExit(
                    f"the baseline cannot import {submission.schema} for {submission.name}: "
                    "correct the entry in bench/submissions.py"
                )
            base = submit(
                baseline, submission, {}, args, folder, f"B{workers}{submission.name[:4]}-", None
            )
            full = measured[submission.name]
            lines.append(_row(submission.name, workers, "service", full))
            lines.append(_row(submission.name, workers, "baseline", base))
            ratio = full.rps / base.rps
            verdict = "meets" if ratio >= GOAL else "below"
            lines.append(
                f"{'':<18} {workers:>7} {'ratio':<9} {ratio:>9.2f}  "
                f"({verdict} the goal of {GOAL:.2f}; p50 x{full.p50_ms / base.p50_ms:.1f})"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10, help="length of each timed run")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, second round")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--vendors", type=int, default=1000, help="vendors the orders are spread over"
    )
    parser.add_argument(
        "--setup-factor",
        type=float,
        default=1.5,
        help="orders are put for this many times --seconds before each timed run",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit(
            "load_bench: wrk is not installed; install it (apt-get install -y wrk) and run again."
        )

    print(
        f"wrk: {args.threads} threads, {args.connections} connections, "
        f"{args.seconds:g} s per run; orders of {args.vendors:,} vendors; {COMMAND[0]}"
    )
    with (
        postgres_server() as server_url,
        migrated_database(server_url, "dispute_bench") as database_url,
        tempfile.TemporaryDirectory(prefix="dispute-bench-") as folder,
    ):
        args.database_url = database_url
        roles = {"service", *(s.role for s in SUBMISSIONS)}
        keys = {role: new_key(database_url, role) for role in roles}
        lines = []
        for workers in dict.fromkeys((1, args.workers)):
            lines += run_workers(workers, args, keys, Path(folder))
    print(f"{'kind':<18} {'workers':>7} {'side':<9} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
