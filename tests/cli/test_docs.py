"""docs/ keeps up with the code: the generated parts (each case type's states, the codes and
fixed field values, the policy values) are what `dispute-service docs` draws now, every code
a client sends is in docs/codes.md, and every page the rules and the policy values point to
exists."""

import re
import shutil
from pathlib import Path
from typing import get_args

import yaml

from app.cases.registry import CASE_TYPES, build_rules
from app.fail_reasons.schemas import Check
from app.payout_disputes.schemas import EvidenceKind, VendorAnswer
from app.pickup_complaints.schemas import Attachment
from app.reference import pages
from app.reference.diagrams import transitions
from app.reference.fields import fixed_fields
from app.settings import PROJECT_ROOT
from app.vendors.schemas import StandingAction

RULES_DIR = PROJECT_ROOT / "rules"


def test_the_generated_parts_of_docs_are_current() -> None:
    engine = build_rules(RULES_DIR, {})
    assert pages.stale(PROJECT_ROOT, engine) == [], "run: dispute-service docs"


def test_a_stale_page_is_found_and_rewritten(tmp_path: Path) -> None:
    engine = build_rules(RULES_DIR, {})
    shutil.copytree(PROJECT_ROOT / "docs", tmp_path / "docs")
    page = tmp_path / "docs" / "cases.md"
    own_words = page.read_text().partition(pages.BEGIN)[0]
    page.write_text(page.read_text().replace("stateDiagram-v2", "stateDiagram", 1))
    assert pages.stale(tmp_path, engine) == ["docs/cases.md"]
    assert pages.write(tmp_path, engine) == ["docs/cases.md"]
    assert pages.stale(tmp_path, engine) == []
    assert page.read_text().startswith(own_words)  # the page's own words are kept


def test_a_payout_dispute_can_reach_every_end_the_lifecycle_names() -> None:
    engine = build_rules(RULES_DIR, {})
    case_type = CASE_TYPES["payout_dispute"]
    moves = {(a, b) for a, b, _ in transitions(case_type, engine.tables[case_type.table])}
    assert {
        ("awaiting_vendor", "resolved"),
        ("awaiting_vendor", "escalated"),
        ("awaiting_vendor", "awaiting_approval"),
        ("escalated", "resolved"),
        ("awaiting_approval", "resolved"),
        ("awaiting_approval", "escalated"),  # finance rejects
    } <= moves


def test_every_page_the_rules_point_to_exists() -> None:
    named = set()
    for path in RULES_DIR.glob("*.yaml"):
        named |= set(re.findall(r"docs/[a-z-]+\.md", path.read_text()))
    assert named, "the rules point to no page"
    assert [page for page in sorted(named) if not (PROJECT_ROOT / page).is_file()] == []
    assert "shared/" not in "".join(p.read_text() for p in RULES_DIR.glob("*.yaml"))


def test_codes_md_names_every_code_a_client_sends() -> None:
    engine = build_rules(RULES_DIR, {})
    page = (PROJECT_ROOT / "docs" / "codes.md").read_text()
    tables = {table.case_type: table for table in engine.tables.values()}
    named = {
        "fail reasons": tables["fail_reason"].all_codes(),
        "pickup complaint issues": tables["pickup_complaint"].all_codes(),
        "deduction reasons": tables["payout_dispute"].codes["valid_deduction"],
        "discrepancy types": tables["payment_discrepancy"].all_codes(),
        "verdict checks": get_args(Check),
        "evidence kinds": get_args(EvidenceKind),
        "attachment kinds": get_args(Attachment.model_fields["kind"].annotation),
        "vendor answers": get_args(VendorAnswer),
        "standing actions": get_args(StandingAction),
    }
    for what, codes in named.items():
        assert codes, what
        missing = [code for code in codes if f"`{code}`" not in page]
        assert missing == [], f"docs/codes.md lacks {what}: {missing}"
    # And every value any request field is limited to, as the API description says.
    spec = yaml.safe_load((PROJECT_ROOT / "openapi.yaml").read_text())
    for (field, where, values), operations in fixed_fields(spec).items():
        missing = [value for value in values if f"`{value}`" not in page]
        assert missing == [], f"docs/codes.md lacks {field} ({where}, {operations}): {missing}"
