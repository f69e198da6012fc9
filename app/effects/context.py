"""What an effect acts on: the case being decided, its vendor, and who decided."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Case, Vendor


@dataclass(frozen=True)
class Applying:
    session: AsyncSession
    case: Case
    vendor: Vendor | None
    # The key that acted ("role:key_id", or "rules"/a watcher) and the person behind it.
    actor: str
    name: str | None
