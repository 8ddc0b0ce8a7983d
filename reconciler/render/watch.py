"""How `groupctl watch` words what it found: a planned action as one short phrase, for the
`changes` of a `drift` report (a JSON log line, read by people and by log collectors)."""

from __future__ import annotations

from reconciler.engine.plan import Action, Plan
from reconciler.render.people import person


def described_action(plan: Plan, action: Action) -> str:
    """`add olivia (+1 415-555-0111)`, `subject 'Hacked' -> 'Sales EMEA'`, `leave`."""
    kind = action.kind.value
    if action.members:
        return f"{kind} {', '.join(person(plan, jid) for jid in action.members)}"
    if action.old is not None:
        return f"{kind} {action.old!r} -> {action.new!r}"
    return f"{kind} {action.new!r}" if action.new is not None else kind
