"""API keys: each made for one named person or system, shown once, stored only as a hash.

A key keeps its id, role, vendor and name for life; rotating it gives it a new secret (the
old one is refused from then on, by every instance within API_KEY_CACHE_SECONDS), revoking
it refuses it for good.
"""

import hashlib
import secrets
from collections.abc import Collection, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from app import names
from app.api.roles import Role
from app.api.schemas import Id, PublicId
from app.errors import Conflict, InvalidRequest, NotFound
from app.ids import new_id
from app.keys import repository as api_keys
from app.models import ApiKey

_VENDOR_ID: TypeAdapter[str] = TypeAdapter(Id)
_KEY_ID: TypeAdapter[str] = TypeAdapter(PublicId)


def default_name(role: str, key_id: str) -> str:
    """The name of a key made without one (and of the keys made before keys had names)."""
    return f"{role} key {key_id}"


def _valid(adapter: TypeAdapter[str], value: Any, field: str) -> str:
    """An id checked as the API checks ids in paths and bodies."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        raise InvalidRequest(f"{field} {value!r}: {exc.errors()[0]['msg']}", field) from None


def _role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidRequest(f"role {role!r} is not one of {', '.join(Role)}", "role") from None


def _name(name: str) -> str:
    try:
        return names.normalised(name)
    except ValueError as exc:
        raise InvalidRequest(f"name {exc}", "name") from None


def token_hash(token: str) -> str:
    """What is stored of a key: its SHA-256 (a key is random, so no salt or stretching)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _new_secret() -> str:
    return f"dsk_{secrets.token_urlsafe(32)}"


async def issue(
    session: AsyncSession, role: str, name: str | None, vendor_id: str | None = None
) -> tuple[ApiKey, str]:
    """A new key and its secret; only the secret's hash is stored."""
    checked = _role(role)
    if (checked == Role.VENDOR) != (vendor_id is not None):
        raise InvalidRequest(
            "a vendor id is required for the vendor role, and only for it", "vendor_id"
        )
    if vendor_id is not None:
        vendor_id = _valid(_VENDOR_ID, vendor_id, "vendor_id")
    key_id = new_id("key")
    token = _new_secret()
    key = ApiKey(
        id=key_id,
        key_hash=token_hash(token),
        role=checked.value,
        vendor_id=vendor_id,
        name=default_name(checked, key_id) if name is None else _name(name),
    )
    await api_keys.add(session, key)
    return key, token


async def create(
    session: AsyncSession, role: str, vendor_id: str | None = None, *, name: str | None = None
) -> str:
    """The secret of a new key (see :func:`issue`)."""
    _, token = await issue(session, role, name, vendor_id)
    return token


async def every(session: AsyncSession) -> Sequence[ApiKey]:
    return await api_keys.every(session)


async def _existing(session: AsyncSession, key_id: str) -> ApiKey:
    key = await api_keys.get(session, _valid(_KEY_ID, key_id, "key_id"), for_update=True)
    if key is None:
        raise NotFound(f"no key {key_id}")
    return key


async def revoke(session: AsyncSession, key_id: str) -> tuple[ApiKey, bool]:
    """The key, refused from now on; and whether this call revoked it (False: it already
    was, and keeps its first revocation time)."""
    key = await _existing(session, key_id)
    if key.revoked_at is not None:
        return key, False
    key.revoked_at = func.now()
    await session.flush()
    await session.refresh(key, ["revoked_at"])
    return key, True


async def rotate(session: AsyncSession, key_id: str) -> tuple[ApiKey, str]:
    """A new secret for the key: same id, role, vendor and name; the old secret stops
    working."""
    key = await _existing(session, key_id)
    if key.revoked_at is not None:
        raise Conflict(f"key {key_id} is revoked; make a new one")
    token = _new_secret()
    key.key_hash = token_hash(token)
    key.rotated_at = func.now()
    await session.flush()
    await session.refresh(key, ["rotated_at"])
    return key, token


async def record_use(session: AsyncSession, key_ids: Collection[str], every_seconds: float) -> None:
    """Notes that these keys were used just now (see api_keys.touch)."""
    if key_ids:
        await api_keys.touch(session, key_ids, every_seconds)
