"""What a transaction remembers in ``session.info`` of rows it read under its locks.

Such a memory holds only while the rows cannot change under it: until the transaction ends
(the next one must read them again) or a savepoint rolls back (which expires what it
touched). Each key named here is dropped then; a flush's own inner transaction keeps them.
"""

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

_KEYS: list[str] = []


def key(name: str) -> str:
    """A ``session.info`` key that is dropped with the transaction (or savepoint)."""
    _KEYS.append(name)
    return name


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.nested or transaction.parent is None:
        for name in _KEYS:
            session.info.pop(name, None)
