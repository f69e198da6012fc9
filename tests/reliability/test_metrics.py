"""/metrics as Prometheus scrapes it from a real server: with several workers a scrape counts
every worker's requests, whichever worker answers it, and while the database is away a
scrape still answers, with every counter, and says the database's gauges are missing."""

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import psutil
import pytest

from tests.api.test_metrics import sample
from tests.db import embedded_server, migrated_database, new_key
from tests.server import env_with, serving

PROBLEM = "application/problem+json"
HEALTH = {"route": "/health", "method": "GET", "status": "200"}
SCRAPE_BOUND = 6.0  # seconds: a scrape slower than this is useless to Prometheus


def _served_by(output: str, prefix: str) -> dict[str, int]:
    """request id -> the pid of the worker that logged it, for ids starting with ``prefix``."""
    served = {}
    for line in output.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # not a log line, or the line a worker is writing right now
        if not isinstance(entry, dict):
            continue
        if str(entry.get("request_id", "")).startswith(prefix) and "status" in entry:
            served[entry["request_id"]] = entry["pid"]
    return served


def _fresh_connection(base: str) -> httpx.Client:
    # A new connection per request: each is accepted by whichever worker takes it first.
    return httpx.Client(base_url=base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))


def test_a_scrape_counts_the_requests_of_every_worker(own_database: str) -> None:
    service = new_key(own_database, "service")
    with serving(env_with(DATABASE_URL=own_database), "--workers", "2") as server:
        sent = 0
        with _fresh_connection(server.base) as client:
            # Until both workers have answered some (the kernel picks), within a bound.
            while sent < 40 or len(set(_served_by(server.output(), "count-").values())) < 2:
                assert sent < 2000, "one worker took every connection"
                response = client.get("/health", headers={"X-Request-ID": f"count-{sent}"})
                assert response.status_code == 200
                sent += 1
            # Scrapes until both workers have answered some: each saw every worker's count.
            scrapes = 0
            while scrapes < 10 or len(set(_served_by(server.output(), "scrape-").values())) < 2:
                assert scrapes < 500, "one worker answered every scrape"
                scrape = client.get(
                    "/metrics", headers={**service, "X-Request-ID": f"scrape-{scrapes}"}
                )
                assert scrape.status_code == 200, scrape.text
                assert sample(scrape.text, "http_requests_total", **HEALTH) == sent
                scrapes += 1
        served = _served_by(server.output(), "count-")
        scrapers = _served_by(server.output(), "scrape-")
    assert len(served) == sent and len(set(served.values())) == 2
    assert set(scrapers.values()) == set(served.values())


@pytest.fixture
def postgres() -> Iterator[Any]:
    with embedded_server() as server:
        yield server


def _processes(postgres: Any) -> list[psutil.Process]:
    postmaster = psutil.Process(postgres.get_pid())
    return [postmaster, *postmaster.children(recursive=True)]


def _stop(postgres: Any) -> Callable[[], None]:
    postgres.stop()
    return postgres.ensure_postgres_running  # type: ignore[no-any-return]


def _freeze(postgres: Any) -> Callable[[], None]:
    processes = _processes(postgres)
    for process in processes:
        process.suspend()

    def thaw() -> None:
        for process in processes:
            process.resume()

    return thaw


OUTAGES = {"stopped": _stop, "frozen": _freeze}


@pytest.mark.parametrize("outage", OUTAGES)
def test_a_scrape_answers_while_the_database_is_away(postgres: Any, outage: str) -> None:
    with migrated_database(str(postgres.get_uri()), "dispute_metrics") as database_url:
        env = env_with(
            DATABASE_URL=database_url,
            # The scraper's key runs out of the cache during the outage.
            API_KEY_CACHE_SECONDS="0.5",
            DB_CONNECT_TIMEOUT_SECONDS="1",
            DB_STATEMENT_TIMEOUT_SECONDS="1",
            DB_POOL_TIMEOUT_SECONDS="1",
        )
        scraper, stranger = new_key(database_url, "service"), new_key(database_url, "ops")
        with serving(env) as server, httpx.Client(base_url=server.base, timeout=30) as client:
            before = client.get("/metrics", headers=scraper)
            assert before.status_code == 200
            assert sample(before.text, "database_up") == 1
            assert "# TYPE open_cases gauge" in before.text
            come_back = OUTAGES[outage](postgres)
            try:
                time.sleep(1.0)  # past the key's time in the cache
                started = time.monotonic()
                during = client.get("/metrics", headers=scraper)
                took = time.monotonic() - started
                assert during.status_code == 200, server.output()[-4000:]
                assert took < SCRAPE_BOUND, took
                assert sample(during.text, "database_up") == 0
                assert "# TYPE open_cases" not in during.text
                assert "# TYPE deadlines_due" not in during.text
                counted = {"route": "/metrics", "method": "GET", "status": "200"}
                assert sample(during.text, "http_requests_total", **counted) >= 1
                # A key this process never verified cannot be verified now; and an endpoint
                # that reads the database does not take the scraper's key as verified.
                unknown = client.get("/metrics", headers=stranger)
                reads = client.get("/v1/vendors/V-1", headers=scraper)
                for answer in (unknown, reads):
                    assert answer.status_code == 503, answer.text
                    assert answer.headers["content-type"] == PROBLEM
            finally:
                come_back()
            deadline = time.monotonic() + 30
            while True:
                after = client.get("/metrics", headers=scraper)
                if after.status_code == 200 and sample(after.text, "database_up") == 1:
                    break
                assert time.monotonic() < deadline, after.text
                time.sleep(0.2)
            assert "# TYPE open_cases gauge" in after.text
            assert client.get("/metrics", headers=stranger).status_code == 200
