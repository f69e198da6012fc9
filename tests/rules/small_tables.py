"""Small rule tables written for the engine's tests, and the facts they take."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from app.effects.catalogue import VOCABULARY
from app.rules_engine import RulesEngine, RulesError, build_engine, load_tables

RULES_DIR = Path(__file__).resolve().parents[2] / "rules"

HEADER = """\
table: payouts
case_type: payout_dispute
description: A small table for engine tests.
{mode}
facts:
  claim: str
  shortfall: int
  justified: bool
  ratio: float
  vendor: str
outcomes: [paid_by_platform, valid_deduction]
codes:
  claim: [not_paid, paid_less]
  other: [unrelated]
rules:
"""

UNJUSTIFIED = """\
  - name: unjustified_shortfall
    description: Platform pays the shortfall.
    when: {claim: paid_less, justified: false, shortfall: {gt: 0}}
    outcome: paid_by_platform
    actions:
      - {type: platform_payout, amount: {fact: shortfall}, requires_approval: false}
      - {type: flag_vendor, reason: payout_shortfall}
"""

# With UNJUSTIFIED, a second rule that fires on the same facts with another outcome.
ALSO_VALID = """\
  - name: also_valid
    description: x
    when: {claim: paid_less}
    outcome: valid_deduction
"""


def write_table(rules_dir: Path, *rules: str, mode: str = "", name: str = "payouts") -> Path:
    """HEADER plus the given rule blocks (each may be indented any amount) as <name>.yaml."""
    text = HEADER.format(mode=mode).replace("table: payouts", f"table: {name}")
    body = "".join(textwrap.indent(textwrap.dedent(part), "  ") for part in rules)
    path = rules_dir / f"{name}.yaml"
    path.write_text(text + body, encoding="utf-8")
    return path


def copy_policy(into: Path) -> Path:
    """A directory for tables of a test's own, with the project's policy values."""
    shutil.copy(RULES_DIR / "policy.yaml", into / "policy.yaml")
    return into


def payout_facts(**overrides: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "claim": "paid_less",
        "shortfall": 150000,
        "justified": False,
        "ratio": 1.0,
        "vendor": "v1",
    }
    facts.update(overrides)
    return facts


def engine_with(rules_dir: Path, *rules: str, **kwargs: Any) -> RulesEngine:
    write_table(rules_dir, *rules, **kwargs)
    return build_engine(rules_dir, {}, VOCABULARY)


def rules_error(rules_dir: Path, rules: str) -> str:
    write_table(rules_dir, rules)
    with pytest.raises(RulesError) as caught:
        load_tables(rules_dir, VOCABULARY)
    return str(caught.value)
