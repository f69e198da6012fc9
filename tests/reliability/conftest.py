"""Each reliability test runs a real server on its own database, so its invariants are
checked over everything in that database and nothing another test wrote."""

from collections.abc import Iterator

import pytest

from tests.db import migrated_database


@pytest.fixture
def own_database(server_url: str) -> Iterator[str]:
    with migrated_database(server_url, "dispute_reliability") as url:
        yield url
