"""The codes each rule table accepts and the outcomes it decides, and the policy values, as
Markdown tables: what a client may send and will read back, from the tables themselves."""

from app.rules_engine.engine import RulesEngine


def codes(engine: RulesEngine) -> str:
    parts: list[str] = []
    for table in sorted(engine.tables.values(), key=lambda t: t.name):
        parts.append(f"### {table.case_type} (`rules/{table.name}.yaml`)\n")
        parts.append(f"{table.description}\n")
        if table.codes:
            parts.append("| class | codes |\n|---|---|")
            for code_class, listed in table.codes.items():
                parts.append(f"| {code_class} | {', '.join(f'`{c}`' for c in listed)} |")
            parts.append("")
        parts.append(f"Outcomes: {', '.join(f'`{o}`' for o in table.outcomes)}.\n")
    return "\n".join(parts).rstrip() + "\n"


def policy(engine: RulesEngine) -> str:
    rows = [
        "| name | default | unit | what it does | explained in |",
        "|---|---|---|---|---|",
    ]
    for name, entry in engine.policy_entries.items():
        description = " ".join(entry.description.split())
        rows.append(f"| `{name}` | {entry.value} | {entry.unit} | {description} | {entry.source} |")
    return "\n".join(rows) + "\n"
