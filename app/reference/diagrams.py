"""Each case type's states as a Mermaid state diagram, from what the case type declares
(app.cases.case_type) and the outcomes of its rule table."""

from app.cases.case_type import CaseType, Status
from app.rules_engine.model import Table

START = "[*]"
Transition = tuple[str, str, str]


def transitions(case_type: CaseType, table: Table) -> list[Transition]:
    """Every move a case of the type can make, as (from, to, why)."""
    opens = case_type.opens_as.value
    finals = case_type.final_outcomes(table)
    # A case carried out by hand opens with the rules' final decision already made.
    opened = f"opened, decided {', '.join(finals)}" if case_type.carried_out_in else "opened"
    moves: list[Transition] = [(START, opens, opened)]
    waits = [opens]
    for outcome, status in case_type.waiting.items():
        if status.value != opens:
            moves.append((opens, status.value, outcome))
        if status.value not in waits:
            waits.append(status.value)
    paying = [outcome for outcome in finals if outcome in case_type.paying_outcomes]
    decided = case_type.carried_out_in.value if case_type.carried_out_in else Status.RESOLVED
    for waiting in waits:
        if waiting == Status.ESCALATED:
            continue
        if waiting != decided:
            moves.append((waiting, decided, ", ".join(finals)))
        if paying:
            moves.append((waiting, Status.AWAITING_APPROVAL, _for_finance(paying)))
    if decided != Status.RESOLVED:
        moves.append((decided, Status.RESOLVED, "carried out by the team, or an override"))
    if Status.ESCALATED in waits:
        moves.append((Status.ESCALATED, Status.RESOLVED, "the manager's decision"))
        if paying:
            moves.append((Status.ESCALATED, Status.AWAITING_APPROVAL, _for_finance(paying)))
    if paying:
        moves.append((Status.AWAITING_APPROVAL, Status.RESOLVED, "finance approves"))
        moves.append((Status.AWAITING_APPROVAL, Status.ESCALATED, "finance rejects"))
        moves.append((Status.RESOLVED, Status.AWAITING_APPROVAL, "an override's payout"))
    moves.append((Status.RESOLVED, START, ""))
    return [(str(a), str(b), why) for a, b, why in moves]


def _for_finance(paying: list[str]) -> str:
    return f"{', '.join(paying)} with a payout for finance"


def mermaid(case_type: CaseType, table: Table) -> str:
    lines = ["```mermaid", "stateDiagram-v2"]
    for source, target, why in transitions(case_type, table):
        lines.append(f"    {source} --> {target}" + (f": {why}" if why else ""))
    lines.append("```")
    return "\n".join(lines)
