"""Is a saved plan still right? Compare each group's live state now with the snapshot the plan
was computed from, and say what changed (deepdiff explains; the fingerprints decide)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from deepdiff import DeepDiff

from reconciler.errors import GroupctlError
from reconciler.jid import Jid
from reconciler.live import fetch_group
from reconciler.plan import GroupPlan, Plan, snapshot_fingerprint, snapshot_of
from reconciler.titan.client import TitanClient


class StalePlanError(GroupctlError):
    """The world changed since the plan was made; `changes` says how, group by group."""

    def __init__(self, changes: Mapping[str, list[str]]) -> None:
        self.changes = dict(changes)
        lines = [
            f"  {key}:\n" + "\n".join(f"    - {line}" for line in lines)
            for key, lines in self.changes.items()
        ]
        count = len(self.changes)
        super().__init__(
            f"the plan is stale: {count} group{'s' * (count != 1)} changed since it was made,"
            " so it is not applied:\n"
            + "\n".join(lines)
            + "\n  Make a new plan (groupctl plan --out ...), review it, and apply that."
        )


async def check_fresh(plan: Plan, client: TitanClient) -> None:
    """Raise StalePlanError unless every group the plan changes is as the plan saw it."""
    listed = {group.id: group.name for group in await client.list_groups()}
    changes: dict[str, list[str]] = {}

    async def check(group: GroupPlan) -> None:
        found = await _changes(group, listed, client)
        if found:
            changes[group.key] = found

    await asyncio.gather(*(check(g) for g in plan.groups if g.actions and not g.errors))
    if changes:
        order = [group.key for group in plan.groups]
        raise StalePlanError({key: changes[key] for key in order if key in changes})


async def _changes(group: GroupPlan, listed: Mapping[Jid, str], client: TitanClient) -> list[str]:
    if group.group_id is None:
        clash = sorted(gid for gid, name in listed.items() if name == group.subject)
        return [f"a group named {group.subject!r} exists now ({clash[0]})"] if clash else []
    if group.group_id not in listed:
        return ["the group is gone, or the session is no longer in it"]
    before = group.snapshot or {}
    live = await fetch_group(
        client, group.group_id, with_picture=before.get("picture") != "not read"
    )
    after = snapshot_of(live)
    if snapshot_fingerprint(after) == group.fingerprint:
        return []
    return describe(before, after) or ["it changed"]


def describe(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """What changed between two snapshots of a group, one line per change."""
    diff = DeepDiff(_comparable(before), _comparable(after), view="tree")
    lines: list[str] = []
    for change in diff.get("values_changed", []):
        path = change.path(output_format="list")
        if path[0] == "members":
            lines.append(f"{path[1]} is now {change.t2} (was {change.t1})")
        else:
            lines.append(f"{path[0]}: {change.t1!r} -> {change.t2!r}")
    lines += [
        f"{change.path(output_format='list')[1]} joined as {change.t2}"
        for change in diff.get("dictionary_item_added", [])
    ]
    lines += [
        f"{change.path(output_format='list')[1]} left (was {change.t1})"
        for change in diff.get("dictionary_item_removed", [])
    ]
    return sorted(lines)


def _comparable(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot with its members as a mapping, which deepdiff explains person by person."""
    members = {jid: role for jid, _lid, role in snapshot.get("members", [])}
    return {**{k: v for k, v in snapshot.items() if k != "members"}, "members": members}
