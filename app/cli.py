"""The ``dispute-service`` command: serve, migrate, keys create, openapi."""

import argparse
import asyncio
import os
import sys
from pathlib import Path

from app.settings import PROJECT_ROOT, get_settings


def _database_url() -> str:
    from app.db.engine import database_url

    return database_url(get_settings())


def _migrate(url: str) -> None:
    from app.db.migrate import upgrade

    upgrade(url)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

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


async def _create_key(url: str, role: str, vendor_id: str | None) -> str:
    from app.db.engine import make_engine, make_sessionmaker
    from app.services import keys

    engine = make_engine(get_settings(), url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            return await keys.create(session, role, vendor_id)
    finally:
        await engine.dispose()


def keys_create(args: argparse.Namespace) -> None:
    url = _database_url()
    _migrate(url)
    try:
        token = asyncio.run(_create_key(url, args.role, args.vendor_id))
    except ValueError as exc:
        sys.exit(f"dispute-service: {exc}")
    print(token)


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

    p = commands.add_parser("openapi", help="write the OpenAPI description")
    p.add_argument("--output", default=str(PROJECT_ROOT / "openapi.yaml"))
    p.set_defaults(func=openapi)

    args = parser.parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
