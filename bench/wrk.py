"""Driving one endpoint with wrk: a Lua script per run, each request naming an id of its own.

Thread t of T takes ids t, t+T, t+2T, ... of an ids file and stops once its share is used;
wrk still waits out the whole time, so a run whose ids ran out says so (its rate is low). Without a
file it makes ids of its own (the bare baseline, which needs no existing rows).
"""

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.submissions import ID

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
  k = k + 1
  return wrk.format(METHOD, table.concat(PATH, id), HEADERS, table.concat(BODY, id))
end

function response(status, headers, body)
  -- Stop while every connection of the thread still has an id of the file to send.
  if #ids > 0 and first + (k + CONNECTIONS) * NTHREADS >= #ids then wrk.thread:stop() end
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
    # The ids file ran out before the time did: wrk still counts the whole time.
    ran_out: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


@dataclass(frozen=True)
class Load:
    threads: int
    connections: int
    seconds: float


def _lua_string(value: str) -> str:
    assert "]==]" not in value
    return f"[==[{value}]==]"


def _lua_parts(text: str) -> str:
    return "{" + ", ".join(_lua_string(part) for part in text.split(ID)) + "}"


def script(
    folder: Path,
    load: Load,
    *,
    method: str,
    path: str,
    body: str,
    headers: dict[str, str],
    prefix: str,
    ids: Path | None = None,
) -> Path:
    headers = {**headers, "Content-Type": "application/json"}
    lua_headers = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
    settings = "\n".join(
        [
            f"METHOD = {_lua_string(method)}",
            f"PATH = {_lua_parts(path.replace('{id}', ID))}",
            f"BODY = {_lua_parts(body)}",
            f"HEADERS = {{{lua_headers}}}",
            f"NTHREADS = {load.threads}",
            f"CONNECTIONS = {math.ceil(load.connections / load.threads)}",
            f"PREFIX = {_lua_string(prefix)}",
            f"IDS_FILE = {_lua_string(str(ids) if ids else '')}",
        ]
    )
    file = folder / f"{prefix}.lua"
    file.write_text(settings + "\n" + LUA)
    return file


def run(base: str, lua: Path, load: Load, ids: Path | None = None) -> Figures:
    command = [
        *("wrk", "-t", str(load.threads), "-c", str(load.connections)),
        *("-d", f"{math.ceil(load.seconds)}s", "--timeout", "10s", "-s", str(lua), base),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=load.seconds + 60)
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
        # A thread stops at the end of its share, so the last few ids may go unused.
        ran_out=ids is not None and raw["requests"] + load.connections >= 0.98 * _count(ids),
    )


def _count(ids: Path) -> int:
    return len(ids.read_text().splitlines())
