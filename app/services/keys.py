"""API keys: made here, shown once, stored only as a hash."""

import secrets

from sqlalchemy.ext.asyncio import AsyncSession

from app.api.deps import ROLES, token_hash
from app.ids import new_id
from app.models import ApiKey
from app.repositories import api_keys


async def create(session: AsyncSession, role: str, vendor_id: str | None) -> str:
    """Returns the new key; only its hash is stored."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if (role == "vendor") != (vendor_id is not None):
        raise ValueError("--vendor-id is required for the vendor role, and only for it")
    token = f"dsk_{secrets.token_urlsafe(32)}"
    await api_keys.add(
        session,
        ApiKey(id=new_id("key"), key_hash=token_hash(token), role=role, vendor_id=vendor_id),
    )
    return token
