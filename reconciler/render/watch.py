"""How `groupctl watch` words what it found: a planned action as one short phrase, for the
`changes` of a `drift` report (a JSON log line, read by people and by log collectors)."""

from __future__ import annotations

from reconciler.engine.plan import Action, Kind, Plan, why_revoked
from reconciler.render.people import person
from reconciler.util.untrusted import repr_shown, shown


def described_action(plan: Plan, action: Action) -> str:
    """`add olivia (+1 415-555-0111)`, `subject 'Hacked' -> 'Sales EMEA'`, `leave`."""
    kind = action.kind.value
    if action.members:
        return f"{kind} {', '.join(shown(person(plan, jid)) for jid in action.members)}"
    if action.kind == Kind.REVOKE_LINK:
        return f"{kind}: {shown(why_revoked(action))}"
    if action.old is not None:
        return f"{kind} {repr_shown(action.old)} -> {repr_shown(action.new)}"
    return f"{kind} {repr_shown(action.new)}" if action.new is not None else kind
