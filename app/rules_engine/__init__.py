"""Rules as data: YAML tables under rules/, checked at start-up, run by durable-rules.

Only :mod:`app.rules_engine.engine` imports durable-rules. The layer knows nothing of the
application: the action vocabulary a table may use is handed to it (app.effects).
"""

from app.rules_engine.engine import Evaluation, RulesEngine, build_engine, ruleset_version
from app.rules_engine.errors import RulesError
from app.rules_engine.loader import load_table, load_tables
from app.rules_engine.model import ESCALATION_TARGETS, Table
from app.rules_engine.policy import Policy, load_policy
from app.rules_engine.templates import format_rupees

__all__ = [
    "ESCALATION_TARGETS",
    "Evaluation",
    "Policy",
    "RulesEngine",
    "RulesError",
    "Table",
    "build_engine",
    "format_rupees",
    "load_policy",
    "load_table",
    "load_tables",
    "ruleset_version",
]
