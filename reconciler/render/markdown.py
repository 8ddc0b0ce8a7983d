"""The plan as GitHub-flavoured Markdown, for a pull request comment.

A summary table first, then removals and demotions called out (what a reviewer must look at),
then one collapsible section per group. A plan too long for one comment (GitHub takes 65,536
characters) is split between groups into several comments, each saying which part it is.
Every string of the config or of WhatsApp goes through `escaping.md`: none can hide, add to or
split what the comment shows.
"""

from __future__ import annotations

from collections.abc import Sequence

from reconciler.engine.plan import Action, GroupPlan, Kind, Plan, why_revoked
from reconciler.errors import HOW_TO_FORCE
from reconciler.render.escaping import bold, code, md
from reconciler.render.people import masked, person
from reconciler.render.text import heading
from reconciler.util.wording import count

COMMENT_LIMIT = 65_536
# Between the comments of a plan too long for one (action/comment.py splits on it).
SEPARATOR = "\n\n<!-- groupctl: next comment -->\n\n"
MARGIN = 1_000  # room for the part heading
_ICONS = {"create": "➕", "update": "✏️", "leave": "🚪", "delete": "🗑️", "refused": "⛔", "note": "ℹ️"}


def render(plan: Plan, *, mask_phones: bool = False, limit: int = COMMENT_LIMIT) -> list[str]:
    """The comment(s), each shorter than `limit` characters."""
    blocks: list[Block] = [
        (
            None,
            f"### groupctl plan for {code(plan.session)}"
            + (f", shard {plan.shard}" if plan.shard else "")
            + f"\n\n**{plan.summary.sentence()}**\n",
        )
    ]
    if plan.brakes:
        title = (
            "Safety brakes lifted by --force"
            if plan.forced
            else "Stopped by the safety brakes: nothing is applied as it stands"
        )
        header = f"> [!CAUTION]\n> **{title}**\n>"
        blocks += [(header, f"> - {md(masked(r, mask_phones=mask_phones))}") for r in plan.brakes]
        blocks += [(header, f">\n> {HOW_TO_FORCE}")] if not plan.forced else []
        blocks.append((None, ""))
    if plan.groups:
        header = "| | group | changes |\n|---|---|---|"
        blocks += [(header, _row(group)) for group in plan.groups]
    else:
        blocks.append((None, "The groups are as the config says: nothing to do."))
    blocks.append((None, ""))
    callouts = _callouts(plan, mask_phones)
    if callouts:
        header = "> [!WARNING]\n> **Review first: people leaving or losing admin**\n>"
        blocks += [(header, f"> {line}") for line in callouts]
        blocks.append((None, ""))
    blocks += [(None, _section(plan, group, mask_phones)) for group in plan.groups]
    return split_comments(blocks, limit - MARGIN)


def render_several(
    plans: Sequence[Plan],
    *,
    mask_phones: bool = False,
    missing: Sequence[tuple[str, str]] = (),
    stopped: Sequence[tuple[str, Sequence[str]]] = (),
    limit: int = COMMENT_LIMIT,
) -> list[str]:
    """The plans of several runs (a CI matrix's shards, several sessions) as one comment
    when they fit: a table of every plan's summary first, then each plan with changes.
    `missing`: the (session, shard) of runs that made no plan; `stopped`: the sessions whose
    shards the brakes stop together, and why; both called out first."""
    whole = Plan(
        groups=tuple(group for plan in plans for group in plan.groups),
        # Each shard of a session counts the session's unmanaged groups: once a session.
        unmanaged=sum({plan.session: plan.unmanaged for plan in plans}.values()),
    )
    sessions = list(dict.fromkeys(plan.session for plan in plans))
    title = f"### groupctl plan: {count(len(plans), 'plan')} of {count(len(sessions), 'session')}"
    blocks: list[Block] = [(None, f"{title}\n\n**In all: {whole.summary.sentence()}**\n")]
    if missing:
        them = "it" if len(missing) == 1 else "they"
        blocks.append(
            (
                None,
                f"> [!CAUTION]\n> **{count(len(missing), 'plan')} missing: what {them} would do"
                " is not shown.** The job of each failed or did not run (its log says why): do"
                " not merge on this comment alone.\n",
            )
        )
    for session, reasons in stopped:
        header = (
            f"> [!CAUTION]\n> **The shards of session {code(session)} are stopped by the safety"
            " brakes together**: each is within its own job's brakes, all of them are not, and"
            " a sharded apply that checks them first applies none.\n>"
        )
        blocks += [(header, f"> - {md(masked(r, mask_phones=mask_phones))}") for r in reasons]
        blocks.append((None, ""))
    rows = [(plan.session, plan.shard, plan.summary.sentence()) for plan in plans]
    rows += [(session, shard, "⛔ **no plan**") for session, shard in missing]
    rows.sort(key=lambda row: (row[0], int(row[1].partition("/")[0] or 0)))
    header = "| session | shard | plan |\n|---|---|---|"
    blocks += [
        (header, f"| {code(session)} | {shard or 'all'} | {what} |")
        for session, shard, what in rows
    ]
    if plans and not missing and all(not (p.has_changes or p.brakes or p.refused) for p in plans):
        blocks.append((None, "\nThe groups are as the config says: nothing to do."))
    for plan in plans:
        if plan.has_changes or plan.refused or plan.brakes:
            parts = render(plan, mask_phones=mask_phones, limit=limit - MARGIN)
            blocks += [(None, "\n" + part) for part in parts]
    return split_comments(blocks, limit - MARGIN)


# A piece of a comment, and the header it continues (a table's, a callout's): a comment that
# starts in the middle of one repeats its header, so each comment reads on its own.
Block = tuple[str | None, str]


def _row(group: GroupPlan) -> str:
    kind = heading(group)
    counts = [(Kind.ADD, "+"), (Kind.REMOVE, "−"), (Kind.PROMOTE, "↑"), (Kind.DEMOTE, "↓")]
    changes = " ".join(f"{sign}{group.count(k)}" for k, sign in counts if group.count(k))
    created = next((a for a in group.actions if a.kind == Kind.CREATE), None)
    if created is not None:
        changes = f"{len(created.members)} members" + (f", {changes}" if changes else "")
    settings = [
        "new invite link" if a.kind == Kind.REVOKE_LINK else a.kind.value
        for a in group.actions
        if a.kind in (Kind.SUBJECT, Kind.DESCRIPTION, Kind.PICTURE, Kind.REVOKE_LINK)
    ]
    if settings:
        changes = ", ".join([*settings, changes] if changes else settings)
    if group.errors:
        changes = f"refused: {count(len(group.errors), 'problem')}"
    return f"| {_ICONS[kind]} {kind} | {md(group.subject)} ({code(group.key)}) | {changes} |"


def _callouts(plan: Plan, mask_phones: bool) -> list[str]:
    lines = []
    for group in plan.groups:
        for action in group.actions:
            if action.kind in (Kind.REMOVE, Kind.DEMOTE):
                verb = "removes" if action.kind == Kind.REMOVE else "demotes"
                admins = group.admins_before() if action.kind == Kind.REMOVE else frozenset()
                # Where an admin is among them, each says what it is: "admin a, member b"
                # (not "admin a, b", which reads as two admins).
                roles = not admins.isdisjoint(action.members)
                who = ", ".join(
                    (("admin " if jid in admins else "member ") if roles else "")
                    + md(person(plan, jid, mask_phones=mask_phones))
                    for jid in action.members
                )
                lines.append(f"- {bold(group.subject)} {verb} {who}")
            elif action.kind in (Kind.LEAVE, Kind.DELETE):
                lines.append(
                    f"- {bold(group.subject)}: the session will {action.kind.value} the group"
                )
    return lines


def _section(plan: Plan, group: GroupPlan, mask_phones: bool) -> str:
    kind = heading(group)
    title = f"{_ICONS[kind]} {kind} {bold(group.subject)} ({code(group.key)})"
    lines = ["<details>", f"<summary>{title}</summary>", ""]
    if group.group_id:
        lines += [f"Group {code(group.group_id)}", ""]
    lines += [f"- ⛔ {md(masked(error, mask_phones=mask_phones))}" for error in group.errors]
    removed = any(action.kind == Kind.REMOVE for action in group.actions)
    was_admin = group.admins_before() if removed else frozenset()
    for action in group.actions:
        lines += _action_lines(plan, action, mask_phones, was_admin)
    lines += [f"- ℹ️ {md(masked(note, mask_phones=mask_phones))}" for note in group.notes]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def _action_lines(
    plan: Plan, action: Action, mask_phones: bool, was_admin: frozenset[str] = frozenset()
) -> list[str]:
    kind, old, new = action.kind, action.old, action.new
    who = [md(person(plan, jid, mask_phones=mask_phones)) for jid in action.members]
    if kind == Kind.CREATE:
        return [f"- ➕ create with subject {code(new)}", *[f"- ➕ {w}" for w in who]]
    if kind in (Kind.SUBJECT, Kind.DESCRIPTION):
        before = f"{code(old)} → " if old else ""
        return [f"- ✏️ {kind.value}: {before}{code(new)}"]
    if kind == Kind.PICTURE:
        return [f"- 🖼️ picture: {code(new)}"]
    if kind == Kind.REVOKE_LINK:
        given = [f"- 🔗 the new link goes to {w} (waiting to join by the old one)" for w in who]
        return [f"- 🔗 revoke the invite link: {md(why_revoked(action))}", *given]
    sign = {
        Kind.ADD: "➕ add",
        Kind.PROMOTE: "⬆️ promote to admin",
        Kind.DEMOTE: "⬇️ demote to member",
        Kind.REMOVE: "➖ remove",
    }.get(kind)
    if sign is None:
        return [f"- {'🗑️' if kind == Kind.DELETE else '🚪'} {kind.value} the group"]
    if kind == Kind.REMOVE:  # an admin's removal says so
        return [
            f"- {sign}{' admin' if jid in was_admin else ''}: {w}"
            for jid, w in zip(action.members, who, strict=True)
        ]
    return [f"- {sign}: {w}" for w in who]


def split_comments(blocks: list[Block], room: int) -> list[str]:
    """The blocks as comments of at most `room` characters, split between blocks."""
    parts: list[list[str]] = [[]]
    size = 0
    open_header: str | None = None
    for header, text in blocks:
        if len(text) > room:  # one enormous piece: cut it, keeping the markup balanced
            # At a line break: a line cut short could end inside a tag or a reference.
            end = text.rfind("\n", 0, room // 2)
            text = text[: end if end > 0 else room // 2]
            fence = "\n```" if text.count("```") % 2 else ""
            closing = "\n\n</details>\n" if text.startswith("<details>") else "\n"
            text += fence + "\n\n…(cut: see the full output)" + closing
        repeat = header is not None and header != open_header
        needed = len(text) + 1 + (len(header) + 1 if repeat and header else 0)
        if size + needed > room and parts[-1]:
            parts.append([])
            size = 0
            open_header = None
            repeat = header is not None
        if repeat and header is not None:
            parts[-1].append(header)
            size += len(header) + 1
        open_header = header
        parts[-1].append(text)
        size += len(text) + 1
    if len(parts) == 1:
        return ["\n".join(parts[0])]
    return [
        f"#### groupctl plan, part {number} of {len(parts)}\n\n" + "\n".join(part)
        for number, part in enumerate(parts, 1)
    ]
