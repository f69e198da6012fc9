"""Texts with placeholders: ticket notes and notification messages of the rule tables.

``{fact}`` and ``{fact:rupees}`` (an int fact of paise, shown in Indian digit grouping);
``{{`` and ``}}`` are literal braces. Checked when a table loads, filled when a rule fires.
"""

import string
from collections.abc import Mapping
from typing import Any

from app.rules_engine.errors import RulesError
from app.rules_engine.model import FactType

RUPEES_FORMAT = "rupees"


def _fields(template: str, where: str) -> list[tuple[str, str | None, str | None, str | None]]:
    try:
        return list(string.Formatter().parse(template))
    except ValueError as exc:
        raise RulesError(f"{where}: bad placeholder in {template!r}: {exc}") from exc


def check_template(template: str, facts: Mapping[str, FactType], where: str) -> None:
    for _literal, fact_name, format_spec, conversion in _fields(template, where):
        if fact_name is None:
            continue
        if fact_name not in facts:
            raise RulesError(
                f"{where}: placeholder {{{fact_name}}} names an unknown fact; "
                f"declared facts: {sorted(facts)}"
            )
        if conversion is not None or format_spec not in ("", RUPEES_FORMAT):
            raise RulesError(
                f"{where}: placeholder {{{fact_name}}}: only {{name}} and "
                f"{{name:{RUPEES_FORMAT}}} are supported"
            )
        if format_spec == RUPEES_FORMAT and facts[fact_name] != "int":
            raise RulesError(
                f"{where}: placeholder {{{fact_name}:{RUPEES_FORMAT}}} needs an int fact (paise)"
            )


def render_template(template: str, facts: Mapping[str, Any]) -> str:
    """Fill a checked template from facts."""
    parts: list[str] = []
    for literal, fact_name, format_spec, _conversion in _fields(template, template):
        parts.append(literal)
        if fact_name is None:
            continue
        value = facts[fact_name]
        if format_spec == RUPEES_FORMAT:
            parts.append(format_rupees(value))
        elif isinstance(value, bool):
            parts.append("yes" if value else "no")
        else:
            parts.append(str(value))
    return "".join(parts)


def indian_grouping(number: int) -> str:
    """1234567 -> "12,34,567": the last three digits, then groups of two, as India writes."""
    digits = str(number)
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    groups: list[str] = []
    while len(head) > 2:
        groups.insert(0, head[-2:])
        head = head[:-2]
    if head:
        groups.insert(0, head)
    return ",".join(groups) + "," + tail


def format_rupees(paise: int) -> str:
    """10000000 -> "₹1,00,000"; 12345 -> "₹123.45"; whole rupees drop the paise."""
    sign = "-" if paise < 0 else ""
    rupees, rest = divmod(abs(paise), 100)
    text = f"₹{indian_grouping(rupees)}"
    if rest:
        text += f".{rest:02d}"
    return sign + text
