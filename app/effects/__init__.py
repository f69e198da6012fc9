"""What decisions do: one Effect per action (app.effects.catalogue), the vendor's standing
as the fold of its ledger (app.effects.standing), the one gate money passes
(app.effects.guard), and carrying decisions out and undoing them (app.effects.ledger)."""

from collections.abc import Mapping
from pathlib import Path

from app.effects.catalogue import VOCABULARY
from app.rules_engine.engine import RulesEngine, build_engine


def build_rules(rules_dir: Path, environ: Mapping[str, str]) -> RulesEngine:
    """The rules engine for this application's action vocabulary."""
    return build_engine(rules_dir, environ, VOCABULARY)
