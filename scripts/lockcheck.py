"""Says whether the lock files were made from pyproject.toml's dependencies as they are now.

pyproject.toml declares the dependencies; ./scripts/lock resolves them into uv.lock and
exports requirements.lock and requirements-test.lock, whose first line records a digest of
what was declared. scripts/install runs this first, so an install (CI's included) never
quietly uses a lock that misses a dependency just added.

    python scripts/lockcheck.py            exit 1, saying what to run, if a lock is stale
    python scripts/lockcheck.py --digest   print the digest of the declared dependencies
"""

import argparse
import hashlib
import json
import sys
import tomllib
from pathlib import Path

LOCKS = ("requirements.lock", "requirements-test.lock")
MARK = "pyproject.toml dependencies: "


def digest(root: Path) -> str:
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    declared = {
        k: project.get(k) for k in ("requires-python", "dependencies", "optional-dependencies")
    }
    return hashlib.sha256(json.dumps(declared, sort_keys=True).encode()).hexdigest()[:16]


def stale(root: Path) -> list[str]:
    """The lock files missing, or made from other declarations than pyproject.toml's."""
    wanted = digest(root)
    found = []
    for name in LOCKS:
        path = root / name
        first = path.read_text().split("\n", 1)[0] if path.exists() else ""
        if not first.endswith(MARK + wanted):
            found.append(name)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digest", action="store_true", help="print the digest and exit")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    if args.digest:
        print(digest(args.root))
        return
    if found := stale(args.root):
        sys.exit(
            f"{', '.join(found)} not made from pyproject.toml's dependencies as they are now: "
            "run ./scripts/lock and commit what it changes."
        )


if __name__ == "__main__":
    main()
