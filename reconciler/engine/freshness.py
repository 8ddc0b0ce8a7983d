"""Is a saved plan still right? Compare each group's live state now with the snapshot the plan
was computed from, and say what changed (deepdiff explains; the fingerprints decide)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from reconciler.core.groups import UploadedPicture
from reconciler.core.jid import Jid, jid_from_api
from reconciler.engine.live import fetch_group
from reconciler.engine.plan import GroupPlan, Kind, Plan, snapshot_fingerprint, snapshot_of
from reconciler.errors import StalePlanError
from reconciler.titan.client import TitanClient


async def check_fresh(
    plan: Plan,
    client: TitanClient,
    uploaded: Mapping[Jid, UploadedPicture] | None = None,
    links_made: Mapping[Jid, datetime] | None = None,
) -> None:
    """Raise StalePlanError unless every group the plan changes is as the plan saw it.
    `uploaded`: the state file's records of uploaded pictures, which stand in for pictures
    Titan cannot show (another apply may have uploaded one since the plan); `links_made`:
    its records of when apply made each group's invite link (a rotation planned from an
    older one is done already)."""
    listed = {group.id: group.name for group in await client.list_groups()}
    changes: dict[str, list[str]] = {}

    async def check(group: GroupPlan) -> None:
        found = _link_made_since(group, links_made or {})
        found += await _changes(group, listed, client, plan.name, uploaded or {})
        if found:
            changes[group.key] = found

    await asyncio.gather(*(check(g) for g in plan.groups if g.actions and not g.errors))
    if changes:
        order = [group.key for group in plan.groups]
        raise StalePlanError({key: changes[key] for key in order if key in changes})


def _link_made_since(group: GroupPlan, links_made: Mapping[Jid, datetime]) -> list[str]:
    """A rotation of the invite link the plan makes is stale once another apply made the
    link again since the link the plan saw."""
    made = links_made.get(group.group_id) if group.group_id is not None else None
    for action in group.actions:
        if action.kind == Kind.REVOKE_LINK and action.new == "rotation":
            seen = datetime.fromisoformat(action.old) if action.old else None
            if made is not None and made != seen:
                return [f"its invite link was made again at {made.isoformat()}, after the plan"]
    return []


async def _changes(
    group: GroupPlan,
    listed: Mapping[Jid, str],
    client: TitanClient,
    name: Callable[[Jid], str],
    uploaded: Mapping[Jid, UploadedPicture],
) -> list[str]:
    if group.group_id is None:
        clash = sorted(gid for gid, name in listed.items() if name == group.subject)
        return [f"a group named {group.subject!r} exists now ({clash[0]})"] if clash else []
    if group.group_id not in listed:
        return ["the group is gone, or the session is no longer in it"]
    before = group.snapshot or {}
    live = await fetch_group(
        client,
        group.group_id,
        with_picture=before.get("picture") != "not read",
        uploaded=uploaded.get(group.group_id),
    )
    after = snapshot_of(live)
    if snapshot_fingerprint(after) == group.fingerprint:
        return []
    return describe(before, after, name) or ["it changed"]


def describe(
    before: Mapping[str, Any], after: Mapping[str, Any], name: Callable[[Jid], str] = str
) -> list[str]:
    """What changed between two snapshots of a group, one line per change; `name` shows a
    person (by default, their address)."""
    from deepdiff import DeepDiff  # only when a plan went stale: a plan run never loads it

    # threshold 0: person by person, even when most members changed.
    diff = DeepDiff(
        _comparable(before), _comparable(after), view="tree", threshold_to_diff_deeper=0
    )
    lines: list[str] = []

    def who(change: Any) -> str:
        return name(jid_from_api(change.path(output_format="list")[1]))

    for change in diff.get("values_changed", []):
        path = change.path(output_format="list")
        if path[0] == "members":
            lines.append(f"{who(change)} is now {change.t2} (was {change.t1})")
        else:
            lines.append(f"{path[0]}: {change.t1!r} -> {change.t2!r}")
    lines += [f"{who(c)} joined as {c.t2}" for c in diff.get("dictionary_item_added", [])]
    lines += [f"{who(c)} left (was {c.t1})" for c in diff.get("dictionary_item_removed", [])]
    return sorted(lines)


def _comparable(snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """A snapshot with its members as a mapping, which deepdiff explains person by person."""
    members = {jid: role for jid, _lid, role in snapshot.get("members", [])}
    return {**{k: v for k, v in snapshot.items() if k != "members"}, "members": members}
