from pathlib import Path

import pytest

from tests.rules.small_tables import copy_policy


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return copy_policy(tmp_path)
