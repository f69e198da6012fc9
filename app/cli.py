"""The ``dispute-service`` command: serve, migrate, keys, reports prepare, openapi, docs."""

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, NoReturn, TypeVar

from app.api.roles import Role
from app.settings import PROJECT_ROOT, get_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from app.models import ApiKey

T = TypeVar("T")


def _database_url() -> str:
    from app.db.engine import database_url

    return database_url(get_settings())


def _migrate(url: str) -> bool:
    """Every command that uses the database migrates it first, so this is where a URL that
    does not work (no server there, no such database, a wrong password) is first met: one
    line saying so, not the driver's pages of traceback."""
    from asyncpg import InterfaceError, PostgresError
    from sqlalchemy.exc import DBAPIError, SQLAlchemyError

    from app.db.migrate import upgrade
    from app.db.url import BadDatabaseUrl, without_password

    try:
        return upgrade(url)
    except BadDatabaseUrl as exc:
        sys.exit(f"dispute-service: {exc}")
    except (OSError, SQLAlchemyError, PostgresError, InterfaceError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        sys.exit(
            f"dispute-service: cannot reach the database of DATABASE_URL "
            f"({without_password(url)}): {reason}"
        )


def _exit(_signum: int, _frame: FrameType | None) -> None:
    sys.exit(0)  # the shutdown it ends was graceful


@contextmanager
def _shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, each keeps its counters in files of one folder, which /metrics
    adds up, so a scrape shows every worker's counts whichever worker answers it.

    prometheus_client picks that mode when it is imported, so the variable is set here,
    before any worker starts. A folder the operator named is emptied of an earlier run's
    files (they would be counted again); one made here is removed afterwards.
    """
    if workers <= 1:
        yield
        return
    named = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    folder = Path(named) if named else Path(tempfile.mkdtemp(prefix="dispute-metrics-"))
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
    try:
        yield
    finally:
        if not named:
            shutil.rmtree(folder, ignore_errors=True)


def serve(args: argparse.Namespace) -> None:
    import uvicorn

    settings = get_settings()
    # uvicorn raises SIGTERM again once it has shut down gracefully. Its default action
    # would end the process before the exit handlers run, leaving the embedded PostgreSQL
    # this process started running after the service has stopped.
    signal.signal(signal.SIGTERM, _exit)
    url = _database_url()
    _migrate(url)
    # Worker processes inherit the URL, so they all share the one database just resolved.
    os.environ["DATABASE_URL"] = url
    with _shared_metrics(args.workers):
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        )


def migrate(_: argparse.Namespace) -> None:
    if _migrate(_database_url()):
        print("database migrated to the latest schema", file=sys.stderr)
    else:
        print("database was already at the latest schema", file=sys.stderr)


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


KEY_COLUMNS = ("id", "role", "vendor", "name", "created", "last used", "rotated", "revoked")


def key_row(key: "ApiKey") -> dict[str, str | None]:
    """A key as `keys list --json` shows it: times in RFC 3339, null when never."""

    def moment(value: datetime | None) -> str | None:
        return None if value is None else value.astimezone(UTC).isoformat(timespec="seconds")

    return {
        "id": key.id,
        "role": key.role,
        "vendor_id": key.vendor_id,
        "name": key.name,
        "created_at": moment(key.created_at),
        "last_used_at": moment(key.last_used_at),
        "rotated_at": moment(key.rotated_at),
        "revoked_at": moment(key.revoked_at),
    }


def key_table(rows: list[dict[str, str | None]]) -> str:
    """The rows of :func:`key_row` as aligned columns, times to the minute in UTC."""

    def cell(value: str | None, time: bool = False) -> str:
        if value is None:
            return "-"
        return value[:16].replace("T", " ") if time else value

    lines = [list(KEY_COLUMNS)] + [
        [
            cell(r["id"]),
            cell(r["role"]),
            cell(r["vendor_id"]),
            cell(r["name"]),
            *(
                cell(r[f], time=True)
                for f in ("created_at", "last_used_at", "rotated_at", "revoked_at")
            ),
        ]
        for r in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(KEY_COLUMNS))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def _fail(prog: str, message: str) -> NoReturn:
    """A refused argument: one line, as argparse reports its own, and exit code 2."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(2)


def _keys(args: argparse.Namespace, work: Callable[["AsyncSession"], Awaitable[T]]) -> T:
    """Runs ``work`` in one transaction; the service's refusals become a one-line error."""
    from app.errors import ServiceError

    async def run(url: str) -> T:
        async with _transaction(url) as session:
            return await work(session)

    url = _database_url()
    _migrate(url)
    try:
        return asyncio.run(run(url))
    except ServiceError as exc:
        _fail(args.prog, exc.detail)


def keys_create(args: argparse.Namespace) -> None:
    from app.keys import service as keys

    key, token = _keys(args, lambda s: keys.issue(s, args.role, args.name, args.vendor_id))
    print(token)
    print(key.id, file=sys.stderr)


def keys_list(args: argparse.Namespace) -> None:
    from app.keys import service as keys

    found = _keys(args, keys.every)
    rows = [key_row(k) for k in found]
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(key_table(rows))


def keys_revoke(args: argparse.Namespace) -> None:
    from app.keys import service as keys

    key, revoked = _keys(args, lambda s: keys.revoke(s, args.key_id))
    when = key.revoked_at.isoformat(timespec="seconds") if key.revoked_at else ""
    state = "revoked" if revoked else "was already revoked"
    print(f"{key.id} ({key.role}, {key.name}) {state} at {when}", file=sys.stderr)


def keys_rotate(args: argparse.Namespace) -> None:
    from app.keys import service as keys

    key, token = _keys(args, lambda s: keys.rotate(s, args.key_id))
    print(token)
    print(key.id, file=sys.stderr)


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


def docs(args: argparse.Namespace) -> None:
    from app.cases.registry import build_rules
    from app.reference import pages

    # The pages describe the defaults, whatever POLICY_* this shell sets.
    engine = build_rules(get_settings().rules_dir, {})
    if args.check:
        stale = pages.stale(PROJECT_ROOT, engine)
        if stale:
            _fail(args.prog, f"stale: {', '.join(stale)}; run dispute-service docs")
        return
    for page in pages.write(PROJECT_ROOT, engine):
        print(f"wrote {page}", file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """One line, without the usage text: --help shows that."""
        _fail(self.prog, message)


def main(argv: list[str] | None = None) -> None:
    parser = _Parser(prog="dispute-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = commands.add_parser("serve", help="migrate the database, then serve HTTP")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--workers", type=int, default=1, help="worker processes")
    p.set_defaults(func=serve)

    p = commands.add_parser("migrate", help="bring the database to the latest schema")
    p.set_defaults(func=migrate)

    p = commands.add_parser("keys", help="API keys, each for one named person or system")
    key_commands = p.add_subparsers(
        dest="keys_command", metavar="{create,list,revoke,rotate}", required=True
    )
    k = key_commands.add_parser(
        "create", help="make a key; prints it once on stdout, and its id on stderr"
    )
    k.add_argument("--role", required=True, choices=[str(r) for r in Role])
    k.add_argument(
        "--name", required=True, help="the person or system the key is for, as records show it"
    )
    k.add_argument("--vendor-id", help="the vendor a vendor key is bound to")
    k.set_defaults(func=keys_create)
    k = key_commands.add_parser("list", help="every key, revoked ones included")
    k.add_argument("--json", action="store_true", help="a JSON list instead of a table")
    k.set_defaults(func=keys_list)
    k = key_commands.add_parser("revoke", help="refuse a key from now on")
    k.add_argument("key_id", metavar="KEY_ID")
    k.set_defaults(func=keys_revoke)
    k = key_commands.add_parser(
        "rotate", help="a new secret for a key (same id, role and name); the old one stops working"
    )
    k.add_argument("key_id", metavar="KEY_ID")
    k.set_defaults(func=keys_rotate)

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

    p = commands.add_parser(
        "docs", help="rewrite the parts of docs/ drawn from the code (states, codes, policy)"
    )
    p.add_argument("--check", action="store_true", help="only say whether a page is stale")
    p.set_defaults(func=docs)

    args = parser.parse_args(argv)
    args.prog = f"{parser.prog} {args.command}" + (
        f" {args.keys_command}" if args.command == "keys" else ""
    )
    from app.db.embedded import EmbeddedUnavailable

    try:
        args.func(args)
    except EmbeddedUnavailable as exc:
        sys.exit(f"dispute-service: {exc}")


if __name__ == "__main__":
    main()
