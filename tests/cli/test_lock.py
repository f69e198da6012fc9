"""The lock every install uses: in step with pyproject.toml, and exact (linters included), so
neither a new dependency nor an upstream release can change what CI installs unseen."""

import shutil
import subprocess
import sys
from pathlib import Path

from app.settings import PROJECT_ROOT

LOCKS = ("requirements.lock", "requirements-test.lock")


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / "scripts" / "lockcheck.py"), "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=30,
    )


def _pins(name: str) -> dict[str, str]:
    """package -> the one line that pins it (hashes and comments aside)."""
    pins = {}
    for line in (PROJECT_ROOT / name).read_text().splitlines():
        if line and not line.startswith((" ", "#")):
            pins[line.split("==")[0].strip()] = line
    return pins


def test_the_locks_are_made_from_pyproject_as_it_is() -> None:
    checked = _check(PROJECT_ROOT)
    assert checked.returncode == 0, checked.stderr


def test_a_dependency_added_without_locking_is_refused(tmp_path: Path) -> None:
    for name in ("pyproject.toml", *LOCKS):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('"pyyaml>=6",', '"pyyaml>=6",\n    "standardwebhooks>=1",'))
    refused = _check(tmp_path)
    assert refused.returncode == 1
    assert "run ./scripts/lock" in refused.stderr
    assert all(name in refused.stderr for name in LOCKS)


def test_every_package_is_pinned_exactly_with_hashes() -> None:
    runtime, test = _pins("requirements.lock"), _pins("requirements-test.lock")
    for pins in (runtime, test):
        assert all("==" in line for line in pins.values()), pins
    assert {"ruff", "mypy", "pytest"} <= test.keys()
    assert "ruff" not in runtime  # the image carries no test tools
    # One resolution: the service runs what the suite tested.
    assert all(test[name] == line for name, line in runtime.items())
    body = (PROJECT_ROOT / "requirements-test.lock").read_text()
    assert body.count("==") <= body.count("--hash=sha256:")
