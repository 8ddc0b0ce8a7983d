"""The plan as terraform-like text: colored on a terminal, plain in logs and files.

Every string of the config or of WhatsApp is `shown` or `quoted` (`reconciler.util.untrusted`):
it stays on its line, so none can forge a line of the plan or a workflow command in a CI log.
"""

from __future__ import annotations

from reconciler.engine.plan import Action, GroupPlan, Kind, Plan, why_revoked
from reconciler.errors import HOW_TO_FORCE
from reconciler.render.people import masked, person
from reconciler.render.styled import Styled
from reconciler.util.untrusted import quoted, shown

# (sign, label, style) for each kind of member action.
_MEMBER_LINES = {
    Kind.ADD: ("+", "member", "green"),
    Kind.PROMOTE: ("^", "admin", "cyan"),
    Kind.DEMOTE: ("v", "member", "magenta"),
    Kind.REMOVE: ("-", "member", "red"),
}
_HEADINGS = {
    "create": ("+", "create", "green"),
    "update": ("~", "update", "yellow"),
    "leave": ("-", "leave", "red"),
    "delete": ("-", "delete", "red"),
    "refused": ("x", "refused", "bold red"),
    "note": ("!", "check", "yellow"),
}


def render(plan: Plan, *, mask_phones: bool = False) -> Styled:
    text = Styled()
    header = f"Plan for session {quoted(plan.session)}"
    header += f", shard {plan.shard}" if plan.shard else ""
    text.append(f"{header} at {shown(plan.api)}\n" if plan.api else f"{header}\n", style="bold")
    if not plan.groups:
        text.append("\nThe groups are as the config says.\n")
    for group in plan.groups:
        text.append("\n")
        _group(text, plan, group, mask_phones)
    text.append("\n")
    text.append(plan.summary.sentence(), style="bold")
    text.append("\n")
    if plan.brakes:
        title = (
            "Safety brakes lifted by --force:" if plan.forced else "Stopped by the safety brakes:"
        )
        text.append(f"\n{title}\n", style="bold red")
        for reason in plan.brakes:
            text.append(f"  - {shown(masked(reason, mask_phones=mask_phones))}\n", style="red")
        if not plan.forced:
            text.append(f"  {HOW_TO_FORCE}\n")
    return text


def to_string(plan: Plan, *, color: bool = False, mask_phones: bool = False) -> str:
    """The rendered plan as a string; with `color`, ANSI escapes included."""
    return render(plan, mask_phones=mask_phones).render(color=color)


def heading(group: GroupPlan) -> str:
    """create, update, leave, delete, refused, or note (nothing to do, something to know)."""
    kinds = {action.kind for action in group.actions}
    if group.errors:
        return "refused"
    if Kind.CREATE in kinds:
        return "create"
    if Kind.DELETE in kinds:
        return "delete"
    if Kind.LEAVE in kinds:
        return "leave"
    return "update" if kinds else "note"


def _group(text: Styled, plan: Plan, group: GroupPlan, mask_phones: bool) -> None:
    sign, verb, style = _HEADINGS[heading(group)]
    text.append(f"{sign} {verb} ", style=style)
    text.append(quoted(group.subject), style="bold")
    text.append(f" [{shown(group.key)}]")
    if group.group_id:
        text.append(f" {shown(group.group_id)}", style="dim")
    text.append("\n")
    for error in group.errors:
        text.append(f"    x {shown(masked(error, mask_phones=mask_phones))}\n", style="red")
    admins: set[str] = {jid for a in group.actions if a.kind == Kind.PROMOTE for jid in a.members}
    creating = any(action.kind == Kind.CREATE for action in group.actions)
    removed = any(action.kind == Kind.REMOVE for action in group.actions)
    was_admin = group.admins_before() if removed else frozenset()
    for action in group.actions:
        _action(text, plan, action, admins if creating else set(), mask_phones, was_admin)
    for note in group.notes:
        text.append(f"    ! {shown(masked(note, mask_phones=mask_phones))}\n", style="yellow")


def _action(
    text: Styled,
    plan: Plan,
    action: Action,
    new_admins: set[str],
    mask_phones: bool,
    was_admin: frozenset[str] = frozenset(),
) -> None:
    if action.kind == Kind.CREATE:
        text.append(f"    + subject      {quoted(action.new)}\n", style="green")
        for jid in action.members:
            if jid not in new_admins:
                who = shown(person(plan, jid, mask_phones=mask_phones))
                text.append(f"    + member       {who}\n", style="green")
    elif action.kind in (Kind.SUBJECT, Kind.DESCRIPTION):
        label = action.kind.value.ljust(12)
        change = quoted(action.new)
        if action.old:
            change = f"{quoted(action.old)} -> {change}"
        text.append(f"    ~ {label} {change}\n", style="yellow")
    elif action.kind == Kind.PICTURE:
        text.append(f"    ~ picture      {shown(action.new or '')}\n", style="yellow")
    elif action.kind == Kind.REVOKE_LINK:
        text.append(f"    ~ invite link  revoke: {shown(why_revoked(action))}\n", style="yellow")
        for jid in action.members:  # waiting to join by the old link: given the new one
            who = shown(person(plan, jid, mask_phones=mask_phones))
            text.append(f"    > new link     {who}\n", style="yellow")
    elif action.kind in _MEMBER_LINES:
        sign, label, style = _MEMBER_LINES[action.kind]
        if new_admins and action.kind == Kind.PROMOTE:
            sign, style = "+", "green"
        for jid in action.members:
            who = shown(person(plan, jid, mask_phones=mask_phones))
            suffix = {
                Kind.PROMOTE: "" if new_admins else "  (promote)",
                Kind.DEMOTE: "  (demote)",
            }.get(action.kind, "")
            shown_as = "admin" if action.kind == Kind.REMOVE and jid in was_admin else label
            text.append(f"    {sign} {shown_as.ljust(12)} {who}{suffix}\n", style=style)
    else:  # leave, delete: the heading says it all
        return
