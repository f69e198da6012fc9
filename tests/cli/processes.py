"""Running the service as a user runs it: real `dispute-service serve` processes."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NamedTuple

import httpx
import pytest

from app.settings import PROJECT_ROOT

COMMAND = [sys.executable, "-m", "app.cli"]
READY_TIMEOUT_SECONDS = 60


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """One `dispute-service` command, e.g. run("keys", "create", "--role", "ops", env=env)."""
    return subprocess.run(
        [*COMMAND, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120
    )


def env_with(**values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(values)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server(NamedTuple):
    base: str
    process: subprocess.Popen[str]


@contextmanager
def serving_many(env: dict[str, str], count: int) -> Iterator[list[Server]]:
    """``count`` servers on free loopback ports, started together and ready; each is stopped
    afterwards unless the test already stopped it."""
    started: list[tuple[subprocess.Popen[str], str]] = []
    try:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [*COMMAND, "serve", "--port", str(port)],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            started.append((process, f"http://127.0.0.1:{port}"))
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        for process, base in started:
            while True:
                if process.poll() is not None:
                    output = process.stdout.read() if process.stdout else ""
                    pytest.fail(f"serve exited: {output}")
                if time.monotonic() > deadline:
                    pytest.fail("serve did not become ready")
                try:
                    if httpx.get(f"{base}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
        yield [Server(base, process) for process, base in started]
    finally:
        for process, _ in started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process, _ in started:
            process.wait(timeout=30)


@contextmanager
def serving(env: dict[str, str]) -> Iterator[Server]:
    with serving_many(env, 1) as (server,):
        yield server
