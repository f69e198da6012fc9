"""Policy values: defaults from rules/policy.yaml, overridden by ``POLICY_<NAME>`` variables.

The names and Python types live in :class:`Policy`; policy.yaml carries the defaults, units
and the words ops read. Loading checks that the two agree, so a value cannot exist in one
place only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, ValidationError

from app.rules_engine.errors import RulesError

POLICY_FILE = "policy.yaml"
ENV_PREFIX = "POLICY_"

Unit = Literal["hours", "days", "count", "paise", "credits", "percent", "text"]
# Money and credits are whole numbers, never floats; only durations may be fractional.
INT_UNITS: frozenset[str] = frozenset({"count", "paise", "credits", "percent"})
FLOAT_UNITS: frozenset[str] = frozenset({"hours", "days"})
TEXT_UNITS: frozenset[str] = frozenset({"text"})

PolicyValue = int | float | str


class Policy(BaseModel):
    """The policy values one ruleset version runs with."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    vendor_response_hours: float
    high_value_threshold: int
    first_response_hours: float
    logging_hours: float
    resolution_hours: float
    repeat_window_days: float
    repeat_dispute_count: int
    repeat_fail_count: int
    repeat_complaint_count: int
    strike_hold_count: int
    strike_deactivate_count: int
    max_leads_reduction: int
    default_max_leads: int
    short_payment_fine_credits: int
    no_payment_fine_credits: int
    strike_expiry_days: float
    customer_update_hours: float
    platform_name: str
    dispute_rate_target_percent: int
    resolution_target_percent: int
    satisfaction_target_percent: int
    communication_satisfaction_target_percent: int

    def as_dict(self) -> dict[str, PolicyValue]:
        """Plain name -> value, what each decision records."""
        return {name: getattr(self, name) for name in type(self).model_fields}


# Each value's unit: a rule table may only put a credits value where credits belong, and
# policy.yaml must say the same unit (checked when it loads).
UNITS: dict[str, Unit] = {
    "vendor_response_hours": "hours",
    "high_value_threshold": "paise",
    "first_response_hours": "hours",
    "logging_hours": "hours",
    "resolution_hours": "hours",
    "repeat_window_days": "days",
    "repeat_dispute_count": "count",
    "repeat_fail_count": "count",
    "repeat_complaint_count": "count",
    "strike_hold_count": "count",
    "strike_deactivate_count": "count",
    "max_leads_reduction": "count",
    "default_max_leads": "count",
    "short_payment_fine_credits": "credits",
    "no_payment_fine_credits": "credits",
    "strike_expiry_days": "days",
    "customer_update_hours": "hours",
    "platform_name": "text",
    "dispute_rate_target_percent": "percent",
    "resolution_target_percent": "percent",
    "satisfaction_target_percent": "percent",
    "communication_satisfaction_target_percent": "percent",
}


assert set(UNITS) == set(Policy.model_fields), "every policy value has one unit"


def policy_unit(name: str) -> Unit:
    return UNITS[name]


def policy_names() -> tuple[str, ...]:
    return tuple(Policy.model_fields)


def policy_type(name: str) -> type[int] | type[float] | type[str]:
    """The Python type of a policy value; raises KeyError for an unknown name."""
    annotation = Policy.model_fields[name].annotation
    if annotation is int:
        return int
    if annotation is str:
        return str
    return float


class PolicyEntry(BaseModel):
    """One entry of policy.yaml."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    value: StrictInt | StrictFloat | str
    unit: Unit
    description: str = Field(min_length=1)
    source: str = Field(min_length=1)


def load_policy_entries(rules_dir: Path) -> dict[str, PolicyEntry]:
    """Read and check policy.yaml: every Policy field present, units matching the types."""
    path = rules_dir / POLICY_FILE
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RulesError(f"{path}: cannot read policy values: {exc}") from exc
    if not isinstance(raw, dict):
        raise RulesError(f"{path}: expected a mapping of policy name -> entry")

    known = set(policy_names())
    unknown = sorted(str(name) for name in raw if name not in known)
    if unknown:
        raise RulesError(f"{path}: unknown policy names {unknown}; known: {sorted(known)}")
    missing = sorted(known - set(raw))
    if missing:
        raise RulesError(f"{path}: policy names missing: {missing}")

    entries: dict[str, PolicyEntry] = {}
    for name in policy_names():
        try:
            entry = PolicyEntry.model_validate(raw[name])
        except ValidationError as exc:
            raise RulesError(f"{path}: policy {name!r}: {_first_error(exc)}") from exc
        if entry.unit != UNITS[name]:
            raise RulesError(
                f"{path}: policy {name!r}: unit {entry.unit!r}; {name} is in {UNITS[name]}"
            )
        _check_value(entry.value, entry.unit, f"{path}: policy {name!r}")
        entries[name] = entry
    return entries


def load_policy(rules_dir: Path, environ: Mapping[str, str]) -> Policy:
    """Defaults from policy.yaml, then every ``POLICY_<NAME>`` in ``environ`` on top."""
    entries = load_policy_entries(rules_dir)
    values: dict[str, PolicyValue] = {name: entry.value for name, entry in entries.items()}

    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX):
            continue
        name = variable[len(ENV_PREFIX) :].lower()
        if name not in entries:
            raise RulesError(
                f"{variable}: unknown policy parameter; known: "
                f"{', '.join(ENV_PREFIX + known.upper() for known in policy_names())}"
            )
        values[name] = parse_policy_value(variable, environ[variable], entries[name].unit)

    # Floats as floats even when written "6", so every decision records one type per name.
    typed = {
        name: (float(value) if policy_type(name) is float and not isinstance(value, str) else value)
        for name, value in values.items()
    }
    return Policy.model_validate(typed)


_INT_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def parse_policy_value(variable: str, text: str, unit: str) -> PolicyValue:
    """Parse one environment value for a policy with this unit; RulesError names the variable."""
    stripped = text.strip()
    if unit in TEXT_UNITS:
        if not stripped:
            raise RulesError(f"{variable}: empty; {unit} values must not be blank")
        return stripped
    if unit in INT_UNITS:
        if not _INT_TEXT.fullmatch(stripped):
            kind = "a fraction" if _FLOAT_TEXT.fullmatch(stripped) else "not a number"
            raise RulesError(f"{variable}={text!r}: {kind}; {unit} values must be whole numbers")
        value: PolicyValue = int(stripped)
    else:
        if not _FLOAT_TEXT.fullmatch(stripped):
            raise RulesError(f"{variable}={text!r}: not a number (expected {unit})")
        value = float(stripped)
    _check_value(value, unit, variable)
    return value


def _check_value(value: PolicyValue, unit: str, where: str) -> None:
    if isinstance(value, str) or unit in TEXT_UNITS:
        if not isinstance(value, str) or not value.strip():
            raise RulesError(f"{where}: {value!r} is not a non-empty text")
        return
    if isinstance(value, float) and not math.isfinite(value):
        raise RulesError(f"{where}: {value!r} is not a finite number")
    if value < 0:
        raise RulesError(f"{where}: {value!r} is negative; {unit} cannot be negative")
    if unit in INT_UNITS and not isinstance(value, int):
        raise RulesError(f"{where}: {value!r} is a fraction; {unit} values must be whole numbers")


def _first_error(exc: ValidationError) -> str:
    error: Any = exc.errors()[0]
    location = ".".join(str(part) for part in error["loc"])
    return f"{location}: {error['msg']}" if location else str(error["msg"])
