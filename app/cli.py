"""The ``dispute-service`` command: serve, migrate, keys create, openapi."""

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from app.settings import PROJECT_ROOT, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


def _database_url() -> str:
    from app.db.engine import database_url

    return database_url(get_settings())


def _migrate(url: str) -> None:
    from app.db.migrate import upgrade

    upgrade(url)


def _exit(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)  # the shutdown it ends was graceful


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    # uvicorn raises SIGTERM again once it has shut down gracefully. Its default action
    # would end the process before the exit handlers run, leaving the embedded PostgreSQL
    # this process started running after the service has stopped.
    signal.signal(signal.SIGTERM, _exit)
    url = _database_url()
    _migrate(url)
    # Worker processes inherit the URL, so they all share the one database just resolved.
    os.environ["DATABASE_URL"] = url
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=get_settings().log_level.lower(),
        timeout_graceful_shutdown=30,
    )


def migrate(_: argparse.Namespace) -> None:
    _migrate(_database_url())
    print("database is at the latest schema", file=sys.stderr)


@asynccontextmanager
async def _transaction(url: str) -> AsyncIterator["AsyncSession"]:
    """One transaction on its own short-lived pool, for a command run once."""
    from app.db.engine import make_engine, make_sessionmaker
    from app.db.transaction import transaction

    engine = make_engine(get_settings(), url)
    try:
        async with transaction(make_sessionmaker(engine)) as session:
            yield session
    finally:
        await engine.dispose()


async def _create_key(url: str, role: str, vendor_id: str | None) -> str:
    from app.services import keys

    async with _transaction(url) as session:
        return await keys.create(session, role, vendor_id)


def keys_create(args: argparse.Namespace) -> None:
    url = _database_url()
    _migrate(url)
    try:
        token = asyncio.run(_create_key(url, args.role, args.vendor_id))
    except ValueError as exc:
        sys.exit(f"dispute-service: {exc}")
    print(token)


async def _prepare_reports(url: str, weeks: int | None) -> int:
    from app.reports import service as reports
    from app.rules_engine.policy import load_policy
    from app.watcher import ROLLED_WEEKS

    weeks = ROLLED_WEEKS if weeks is None else weeks
    policy = load_policy(get_settings().rules_dir, os.environ)
    async with _transaction(url) as session:
        rolled = await reports.roll_ahead(session, policy, weeks, wait=True)
    assert rolled is not None  # it waited for any other roll
    return rolled


def reports_prepare(args: argparse.Namespace) -> None:
    """Rolls the report's finished weeks now, instead of in the background after the next
    start (about 30 s for a year of a million cases)."""
    url = _database_url()
    _migrate(url)
    rolled = asyncio.run(_prepare_reports(url, args.weeks))
    print(f"the report's finished weeks are ready ({rolled} rolled now)", file=sys.stderr)


def openapi(args: argparse.Namespace) -> None:
    from app.openapi_file import render

    Path(args.output).write_text(render())
    print(f"wrote {args.output}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dispute-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="migrate the database, then serve HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.set_defaults(func=serve)

    p = commands.add_parser("migrate", help="bring the database to the latest schema")
    p.set_defaults(func=migrate)

    p = commands.add_parser("keys", help="API keys")
    key_commands = p.add_subparsers(dest="keys_command", required=True)
    k = key_commands.add_parser("create", help="make a key and print it once")
    k.add_argument("--role", required=True, choices=["vendor", "support", "ops", "service"])
    k.add_argument("--vendor-id", help="the vendor a vendor key is bound to")
    k.set_defaults(func=keys_create)

    p = commands.add_parser("reports", help="the summary report")
    report_commands = p.add_subparsers(dest="reports_command", required=True)
    r = report_commands.add_parser(
        "prepare", help="compute the finished weeks a report reads, ahead of its first request"
    )
    r.add_argument(
        "--weeks",
        type=int,
        help="how many weeks back (default: the background roller's, a year and a week)",
    )
    r.set_defaults(func=reports_prepare)

    p = commands.add_parser("openapi", help="write the OpenAPI description")
    p.add_argument("--output", default=str(PROJECT_ROOT / "openapi.yaml"))
    p.set_defaults(func=openapi)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
