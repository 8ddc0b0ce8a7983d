"""Apply's report as text: who still needs an invite, with the link to send them."""

from __future__ import annotations

from reconciler.core.invites import LINK_WARNING
from reconciler.engine.plan import Plan
from reconciler.engine.report import ApplyReport, Outcome
from reconciler.render.people import person
from reconciler.render.progress import which_group
from reconciler.util.untrusted import shown

# People whose invite link a person still has to send (or check was sent).
_TO_SEND = frozenset({Outcome.NEEDS_INVITE, Outcome.FAILED, Outcome.UNKNOWN})


def invite_lines(plan: Plan, report: ApplyReport) -> list[str]:
    """`olivia (+1 415-555-0111) needs an invite to 'Acme Announcements' [announcements]:
    send them https://chat.whatsapp.com/...`, one line each, then the warning that goes with
    every link; nothing when nobody needs one."""
    lines = []
    for group in report.groups:
        for step in group.steps:
            if step.invite_link is None or step.person is None or step.outcome not in _TO_SEND:
                continue
            # The link is checked to be https://chat.whatsapp.com/ and letters and digits.
            who = shown(person(plan, step.person))
            where = which_group(group)
            lines.append(
                f"{who}: the message with the invite link to {where} may not have arrived:"
                f" ask them before sending {step.invite_link}"
                if step.outcome == Outcome.UNKNOWN
                else f"{who} needs an invite to {where}: send them {step.invite_link}"
            )
    if lines:
        lines.append(f"Note: {LINK_WARNING}.")
    return lines
