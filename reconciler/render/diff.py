"""A config diff for people: text for terminals and logs, Markdown for a pull request comment.

Every key, name, subject and setting of either config is untrusted (a pull request from anyone
changes it): `shown` or `quoted` for text, `md` or `code` for Markdown.
"""

from __future__ import annotations

import json
from typing import Any

from reconciler.config.diff import ConfigDiff, GroupChange
from reconciler.core.jid import Jid
from reconciler.render.escaping import bold, code, md
from reconciler.render.markdown import COMMENT_LIMIT, MARGIN, Block, split_comments
from reconciler.render.people import person
from reconciler.util.untrusted import quoted, repr_shown, shown

_STATUS = {
    "added": ("+", "group", "green"),
    "changed": ("~", "group", "yellow"),
    "removed": ("-", "group", "red"),
}
# A group dropped from the config is left alone, not left or deleted: say so where it shows.
REMOVED_NOTE = "dropped from the config: groupctl stops managing it (it is not left or deleted)"


def lines(result: ConfigDiff, *, mask_phones: bool = False) -> list[tuple[str, str]]:
    """The diff as (line, style) pairs, in reading order."""
    out: list[tuple[str, str]] = []
    for group in result.groups:
        sign, verb, style = _heading(group)
        renamed = f" (renamed from {repr_shown(group.renamed_from)})" if group.renamed_from else ""
        head = f"{sign} {verb} {quoted(group.subject)} [{shown(group.key)}]{renamed}"
        out.append((head, style))
        out += [(f"    {line}", style) for line in _group_lines(result, group, mask_phones)]
        out.append(("", ""))
    for name, old, new in result.readdressed:
        out.append(
            (
                f"~ person {shown(name)}: {_address(old, mask_phones)}"
                f" -> {_address(new, mask_phones)}",
                "yellow",
            )
        )
    if result.readdressed:
        out.append(("", ""))
    out += [(line, style) for line, style in _rule_lines(result)]
    if result.rules_removed or result.rules_added:
        out.append(("", ""))
    out.append((result.summary(), "bold"))
    return out


def _rule_lines(result: ConfigDiff) -> list[tuple[str, str]]:
    """`- policy rule {"rule": "protected", ...}`: each rule dropped or added, as JSON."""
    return [(f"- policy rule {shown(rule)}", "red") for rule in result.rules_removed] + [
        (f"+ policy rule {shown(rule)}", "green") for rule in result.rules_added
    ]


def _heading(group: GroupChange) -> tuple[str, str, str]:
    """(sign, words, style): a group the config now has the session leave or delete is shown
    as going, whether its entry is new or changed."""
    if group.goes is not None and group.status != "removed":
        return "-", f"group to {group.goes}", "red"
    return _STATUS[group.status]


def _group_lines(result: ConfigDiff, group: GroupChange, mask_phones: bool) -> list[str]:
    if group.status == "removed":
        return [REMOVED_NOTE]
    said: list[str] = [f"! {shown(group.hint)}"] if group.hint else []
    for name, old, new in group.settings:
        said.append(f"~ {name.ljust(12)} {_setting(old)} -> {_setting(new)}")

    def who(jid: Jid) -> str:
        return shown(person(result, jid, mask_phones=mask_phones))

    admins = set(group.promoted)
    for jid in group.joins:
        said.append(f"+ {'admin' if jid in admins else 'member':<12} {who(jid)}")
    said += [
        f"^ admin        {who(j)}  (gains admin)" for j in group.promoted if j not in group.joins
    ]
    said += [f"v member       {who(j)}  (loses admin)" for j in group.demoted]
    said += [f"- member       {who(j)}" for j in group.leaves]
    return said


def to_markdown(
    result: ConfigDiff, *, base: str, mask_phones: bool = False, limit: int = COMMENT_LIMIT
) -> list[str]:
    """The comment(s) for a pull request, each shorter than `limit` characters."""
    blocks: list[Block] = [
        (None, f"### groupctl config diff against {code(base)}\n\n**{result.summary()}**\n")
    ]
    if not result.has_changes:
        blocks.append((None, "The config's groups and people are as they were."))
    for group in result.groups:
        sign, verb, _ = _heading(group)
        # In tags: "**~ group**" would show its asterisks (the ~ is strikethrough's).
        heading = f"{bold(f'{sign} {verb}')} {bold(group.subject)} ({code(group.key)})"
        if group.renamed_from:
            heading += f", renamed from {code(group.renamed_from)}"
        # A diff block: GitHub colors its + and - lines, and shows what is inside as it is (no
        # Markdown, no HTML, no links or mentions). Its lines are `shown`, so none can start a
        # line of the comment, and they have no backticks, so none can end the block.
        body = [line.replace("`", "'") for line in _group_lines(result, group, mask_phones)]
        blocks.append((None, "\n".join([heading, "", "```diff", *body, "```", ""])))
    if result.rules_removed or result.rules_added:
        # In a diff block, as the groups' lines: shown, and no backtick can end it.
        body = [line.replace("`", "'") for line, _ in _rule_lines(result)]
        blocks.append((None, "\n".join(["**Policy rules**", "", "```diff", *body, "```", ""])))
    if result.readdressed:
        moved = [
            f"- {code(name)}: {md(_address(old, mask_phones))} → {md(_address(new, mask_phones))}"
            for name, old, new in result.readdressed
        ]
        blocks.append((None, "**People with a new address**\n\n" + "\n".join(moved) + "\n"))
    return split_comments(blocks, limit - MARGIN)


def _setting(value: Any) -> str:
    return "(none)" if value is None else shown(json.dumps(value, ensure_ascii=False))


def _address(jid: Jid, mask_phones: bool) -> str:
    return f"…{jid.user[-4:]}" if mask_phones and jid.is_phone else jid.display()
