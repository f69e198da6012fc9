"""What every endpoint may ask for: the request's session, the caller, paging, the engine."""

import math
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.api.limits import RateLimiter
from app.api.problems import is_database_down
from app.api.roles import Right, Role, roles_with
from app.cases.deciding import Actor
from app.errors import Forbidden, RateLimited, Unauthorized
from app.keys import repository as api_keys
from app.keys.service import token_hash
from app.rules_engine.engine import RulesEngine

# The dependencies that check the caller's key (made by require): app.api.openapi describes
# their operations as needing a key. A FastAPI security dependency would say so too, but it
# is one more dependency to solve on every request, for a header authenticate reads anyway.
KEY_CHECKS: set[Callable[..., Any]] = set()


# Dependencies are async even when they await nothing: FastAPI runs a plain def dependency
# in its thread pool, a thread hop per request that costs far more than the lookup.


async def get_session(request: Request) -> AsyncSession:
    """The session the request's transaction runs in (opened by TransactionRoute)."""
    session: AsyncSession = request.state.session
    return session


async def get_engine(request: Request) -> RulesEngine:
    engine: RulesEngine = request.app.state.rules_engine
    return engine


Session = Annotated[AsyncSession, Depends(get_session)]
Engine = Annotated[RulesEngine, Depends(get_engine)]


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: Role
    vendor_id: str | None
    name: str  # the person or system the key was made for (`keys create --name`)

    @property
    def actor(self) -> str:
        """How decisions and ledger entries name the key that acted."""
        return f"{self.role}:{self.key_id}"

    @property
    def acting(self) -> Actor:
        """The key and the person behind it, as decisions record them."""
        return Actor(key=self.actor, name=self.name, role=self.role)

    def ensure_vendor(self, vendor_id: str | None) -> None:
        """A vendor key sees only its own orders and cases."""
        if self.role == Role.VENDOR and self.vendor_id != vendor_id:
            raise Forbidden("This API key belongs to another vendor.")

    def vendor_scope(self, vendor_id: str | None) -> str | None:
        """The vendor filter of a list: a vendor key lists only its own, whatever it asked."""
        if self.role != Role.VENDOR:
            return vendor_id
        if vendor_id is not None:
            self.ensure_vendor(vendor_id)
        return self.vendor_id


class KnownKeys:
    """Keys this process looked up lately, by hash: a client's next requests need no lookup.

    Only keys found are kept, each trusted for ``seconds``, so a key revoked in the database
    is refused again within that time; an unknown key is looked up every time. An entry past
    its time is kept (up to ``size`` keys), and trusted only by an endpoint that needs no
    database (/metrics), only while the database cannot be asked.
    """

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self.size = size
        self._known: dict[str, tuple[float, Principal]] = {}

    def get(self, key_hash: str) -> Principal | None:
        found = self._known.get(key_hash)
        if found is None or found[0] <= time.monotonic():
            return None
        return found[1]

    def last_known(self, key_hash: str) -> Principal | None:
        """The key as last verified, however long ago: for when the database is away."""
        found = self._known.get(key_hash)
        return None if found is None else found[1]

    def put(self, key_hash: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        self._known.pop(key_hash, None)  # re-inserted last: the oldest entry goes first
        if len(self._known) >= self.size:
            self._known.pop(next(iter(self._known)))
        self._known[key_hash] = (time.monotonic() + self.seconds, principal)

    def forget(self, key_hash: str) -> None:
        self._known.pop(key_hash, None)


async def _look_up(
    request: Request, session: AsyncSession, key_hash: str, needs_no_database: bool
) -> Principal:
    known: KnownKeys = request.app.state.known_keys
    try:
        key = await api_keys.by_hash(session, key_hash)
    except Exception as exc:
        # The database cannot say whether the key is still good; for an endpoint that asks
        # the database nothing else, what it said last stands.
        down = needs_no_database and is_database_down(exc)
        last = known.last_known(key_hash) if down else None
        if last is None:
            raise
        # Ends the request's transaction here: committing it would try the lost connection
        # again (the endpoint uses the session no more).
        await session.rollback()
        return last
    if key is None:
        known.forget(key_hash)
        raise Unauthorized("This API key is unknown or revoked.")
    caller = Principal(key_id=key.id, role=Role(key.role), vendor_id=key.vendor_id, name=key.name)
    known.put(key_hash, caller)
    return caller


def bearer_token(request: Request) -> str | None:
    """The key of an ``Authorization: Bearer <key>`` header; the scheme's case and the
    spacing around it do not matter."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return None
    return token


async def authenticate(
    request: Request, session: AsyncSession, *, needs_no_database: bool = False
) -> Principal:
    """The caller of this request, looked up once per request (and cached per process).
    ``needs_no_database``: see :func:`require`."""
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("Send 'Authorization: Bearer <api key>'.")
    known: KnownKeys = request.app.state.known_keys
    key_hash = token_hash(token)
    caller = known.get(key_hash)
    if caller is None:
        caller = await _look_up(request, session, key_hash, needs_no_database)
    request.app.state.key_use.saw(caller.key_id)
    request.state.principal = caller
    return caller


class KeyUse:
    """The keys this process has served since it last wrote their ``last_used_at``.

    Noting a use is a set insertion; app.watcher.KeyUseRecorder writes them all in one
    statement every API_KEY_LAST_USED_SECONDS, so a request never waits for that write.
    """

    def __init__(self) -> None:
        self._used: set[str] = set()

    def saw(self, key_id: str) -> None:
        self._used.add(key_id)

    def take(self) -> set[str]:
        used, self._used = self._used, set()
        return used

    def give_back(self, key_ids: set[str]) -> None:
        """Keys whose write failed: they are written with the next ones."""
        self._used |= key_ids


def require(
    *rights: Right, needs_no_database: bool = False
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """The caller, if its key's role has one of ``rights`` (app.api.roles), and within its
    rate limit. ``needs_no_database``: the endpoint asks the database nothing itself, so a
    key this process verified before still passes while the database is away (KnownKeys)."""
    # A role name here (the old way) would refuse every caller: fail when the route is made.
    if not rights or not all(isinstance(right, Right) for right in rights):
        raise TypeError(f"require() takes one or more app.api.roles.Right, not {rights!r}")
    roles = frozenset(role for right in rights for role in roles_with(right))
    allowed = ", ".join(role for role in Role if role in roles)
    doing = " or ".join(rights)

    async def principal(request: Request, session: Session) -> Principal:
        caller = await authenticate(request, session, needs_no_database=needs_no_database)
        if caller.role not in roles:
            raise Forbidden(f"Role '{caller.role}' may not {doing}; allowed: {allowed}.")
        limiter: RateLimiter = request.app.state.rate_limiter
        # Counted once per request: a request run again after a conflict is the client's
        # one request, and its later attempts solve this dependency again.
        wait = 0.0
        if not getattr(request.state, "rate_counted", False):
            request.state.rate_counted = True
            wait = limiter.take(caller.key_id)
        if wait:
            raise RateLimited(
                f"This API key may make {limiter.per_minute} requests a minute here; "
                f"retry in {math.ceil(wait)} s.",
                retry_after=math.ceil(wait),
            )
        return caller

    KEY_CHECKS.add(principal)
    return principal
