"""The service run as its users run it: the command line, and a real server on loopback.

Shared by the CLI, contract and reliability tests and by the benchmarks in bench/.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from app.settings import PROJECT_ROOT

COMMAND = [sys.executable, "-m", "app.cli"]


class ServerFailed(RuntimeError):
    """The server exited or never became ready; the message carries its output."""


def run(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
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


@dataclass
class Server:
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        """SIGTERM, as a supervisor stops it; waits for it to finish and flush its output."""
        _stop(self.process)

    def kill(self) -> None:
        """SIGKILL to the server and every worker it started: a crash, no clean-up at all."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def serving(
    env: dict[str, str],
    *args: str,
    command: Sequence[str] = (*COMMAND, "serve"),
    timeout: float = 60,
) -> Iterator[Server]:
    """Runs ``command --port P *args`` on a free loopback port until /ready answers 200.

    Output goes to a file, not a pipe: a pipe nobody reads fills up under load and then
    blocks the server on its next log line. The server leads its own process group, so
    ``Server.kill`` reaches its workers too. Stopped with SIGTERM afterwards if still running.
    """
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dispute-serve-") as folder:
        log = Path(folder) / "output.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [*command, "--port", str(port), *args],
                env=env,
                cwd=PROJECT_ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = Server(f"http://127.0.0.1:{port}", process, log)
        try:
            _wait_ready(server, timeout)
            yield server
        finally:
            _stop(process)


def _wait_ready(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"server exited: {server.output()}")
        try:
            if httpx.get(f"{server.base}/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise ServerFailed(f"server did not become ready in {timeout} s: {server.output()}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextmanager
def serving_many(env: dict[str, str], count: int) -> Iterator[list[Server]]:
    """``count`` servers sharing one database, each on its own port; all stopped afterwards."""
    with ExitStack() as stack:
        yield [stack.enter_context(serving(env)) for _ in range(count)]
