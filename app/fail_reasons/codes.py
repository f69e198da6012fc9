"""Code vocabularies owned by the rule tables, as enums for request validation and the
OpenAPI description: a code the rules do not know is refused at the door, by name."""

from enum import StrEnum

from app.effects.catalogue import VOCABULARY
from app.rules_engine.loader import load_tables
from app.settings import get_settings

_TABLES = load_tables(get_settings().rules_dir, VOCABULARY)


def _codes(table: str) -> dict[str, str]:
    return {code: code for code in _TABLES[table].all_codes()}


FailReasonCode = StrEnum("FailReasonCode", _codes("fail_reasons"))  # type: ignore[misc]
