"""Rules as data: YAML tables under rules/, checked at start-up, run by durable-rules.

Only :mod:`app.rules_engine.engine` imports durable-rules.
"""

from app.rules_engine.engine import Evaluation, RulesEngine, build_engine, ruleset_version
from app.rules_engine.errors import RulesError
from app.rules_engine.policy import Policy, load_policy
from app.rules_engine.tables import (
    ACTION_PARAMS,
    ESCALATION_TARGETS,
    Table,
    format_rupees,
    load_tables,
)

__all__ = [
    "ACTION_PARAMS",
    "ESCALATION_TARGETS",
    "Evaluation",
    "Policy",
    "RulesEngine",
    "RulesError",
    "Table",
    "build_engine",
    "format_rupees",
    "load_policy",
    "load_tables",
    "ruleset_version",
]
