"""Every field of a request whose values are fixed, from the API description: each enum or
constant of a body, a query or a path, with the operations that take it. The codes of the
rule tables are named by their table instead of spelled out again."""

from collections.abc import Iterator
from typing import Any

from app.rules_engine.engine import RulesEngine

# Text fields checked against a rule table's codes in the service, not by the schema: the
# schema says string, the table says which.
TABLE_FIELDS: tuple[tuple[str, str, str, str | None], ...] = (
    ("issues[]", "POST /v1/pickup-complaints", "pickup_complaint", None),
    (
        "deduction_reason",
        "POST /v1/payout-disputes/{case_id}/vendor-response",
        "payout_dispute",
        "valid_deduction",
    ),
)


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> tuple[dict[str, Any], str]:
    ref = schema.get("$ref", "")
    if not ref:
        return schema, ""
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node, ref


def _walk(
    document: dict[str, Any], schema: dict[str, Any], path: str, seen: frozenset[str]
) -> Iterator[tuple[str, str]]:
    """(field path, value) of every enum and constant under ``schema``."""
    schema, ref = _resolve(document, schema)
    if ref:
        if ref in seen:  # a model inside itself
            return
        seen = seen | {ref}
    for value in schema.get("enum", ()):
        yield path, str(value)
    if "const" in schema:
        yield path, str(schema["const"])
    for key in ("anyOf", "oneOf", "allOf"):
        for part in schema.get(key, ()):
            yield from _walk(document, part, path, seen)
    for name, part in schema.get("properties", {}).items():
        yield from _walk(document, part, f"{path}.{name}" if path else name, seen)
    if "items" in schema:
        yield from _walk(document, schema["items"], f"{path}[]", seen)


def _operation_fields(
    document: dict[str, Any], operation: dict[str, Any]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """(field, where) -> its values, for one operation."""
    pairs: list[tuple[str, str, str]] = []
    for parameter in operation.get("parameters", ()):
        parameter, _ = _resolve(document, parameter)
        walked = _walk(document, parameter.get("schema", {}), parameter["name"], frozenset())
        pairs += [(field, parameter["in"], value) for field, value in walked]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body:
        pairs += [(f, "body", v) for f, v in _walk(document, body["schema"], "", frozenset())]
    found: dict[tuple[str, str], dict[str, None]] = {}
    for field, where, value in pairs:
        found.setdefault((field, where), {})[value] = None
    return {key: tuple(values) for key, values in found.items()}


def fixed_fields(document: dict[str, Any]) -> dict[tuple[str, str, tuple[str, ...]], list[str]]:
    """(field, where, values) -> the operations taking it, in the description's order."""
    found: dict[tuple[str, str, tuple[str, ...]], list[str]] = {}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for (field, where), values in _operation_fields(document, operation).items():
                found.setdefault((field, where, values), []).append(f"{method.upper()} {path}")
    return found


def table(document: dict[str, Any], engine: RulesEngine) -> str:
    """The Markdown table of every request field with fixed values."""
    codes = {
        frozenset(t.all_codes()): f"every `{t.case_type}` code above"
        for t in engine.tables.values()
    }
    rows = ["| field | in | values | sent to |", "|---|---|---|---|"]
    for (field, where, values), operations in fixed_fields(document).items():
        listed = codes.get(frozenset(values)) or ", ".join(f"`{v}`" for v in values)
        sent_to = ", ".join(f"`{op}`" for op in operations)
        rows.append(f"| `{field}` | {where} | {listed} | {sent_to} |")
    for field, operation, case_type, code_class in TABLE_FIELDS:
        [found] = [t for t in engine.tables.values() if t.case_type == case_type]
        assert code_class is None or code_class in found.codes, (case_type, code_class)
        which = f"the `{code_class}` codes" if code_class else "every code"
        rows.append(f"| `{field}` | body | {which} of `{case_type}` above | `{operation}` |")
    return "\n".join(rows) + "\n"
