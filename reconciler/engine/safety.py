"""Safety brakes over a plan: too many removals at once is more often a mistake than a wish.

Applied by plan and apply alike, from the library, so no caller can forget them; only
`force` lifts them. Like peribolos and octoDNS: a plan may remove at most `max_removals`
members in all, and from a group of `group_min_size` or more members at most
`group_percent` percent of them, unless the group's own `limits:` in the config say otherwise
(a `max_removals:` of its own replaces the percentage). Deleting a group counts as removing
everyone in it. The total is per run: planning groups one `--group` at a time gets around
it, knowingly.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from reconciler.engine.plan import GroupPlan, Kind, Plan
from reconciler.errors import UnsafePlanError


@dataclass(frozen=True, slots=True)
class Brakes:
    max_removals: int = 20
    group_percent: float = 25.0
    group_min_size: int = 8


def check(plan: Plan, brakes: Brakes = Brakes()) -> list[str]:
    """Why the plan is unsafe: one reason per brake it trips (none: it is safe).

    Deleting a group removes everyone in it and counts so. A group's size is read from the
    snapshot of it the plan was made from, when there is one.
    """
    reasons: list[str] = []
    removals = {group.key: _removed(group) for group in plan.groups}
    total = sum(removals.values())
    if total > brakes.max_removals:
        reasons.append(
            f"it removes {total} members in all, more than --max-removals {brakes.max_removals}"
        )
    for group in plan.groups:
        removed, size = removals[group.key], _size(group)
        if not removed:
            continue
        name = f"{group.subject!r} [{group.key}]"
        if group.max_removals is not None:  # the group's own limit replaces the default
            if removed > group.max_removals:
                reasons.append(
                    f"{name}: it removes {removed} members, more than the group's"
                    f" limits: max_removals: {group.max_removals}"
                )
            if group.max_removal_percent is None:
                continue
        percent = group.max_removal_percent
        if percent is None and size >= brakes.group_min_size:
            percent = brakes.group_percent
        if percent is not None and size and removed * 100 / size > percent:
            reasons.append(
                f"{name}: it removes {removed} of {size} members"
                f" ({removed * 100 / size:.0f}%), more than {percent:g}%"
            )
    return reasons


def _removed(group: GroupPlan) -> int:
    if any(action.kind == Kind.DELETE for action in group.actions):
        return max(_size(group) - 1, 0)  # everyone but the session
    return group.count(Kind.REMOVE)


def _size(group: GroupPlan) -> int:
    snapshot = group.snapshot
    if snapshot is not None and isinstance(snapshot.get("members"), list):
        return len(snapshot["members"])
    return group.members_before


def assess(plan: Plan, brakes: Brakes = Brakes(), *, force: bool = False) -> Plan:
    """`plan` with the brakes' verdict in it, for renderers and plan files to show."""
    return replace(plan, brakes=tuple(check(plan, brakes)), forced=force)


def raise_if_unsafe(plan: Plan, brakes: Brakes = Brakes(), *, force: bool = False) -> None:
    """Raise UnsafePlanError if the brakes stop `plan` (checked afresh, whatever it says)."""
    reasons = check(plan, brakes)
    if reasons and not force:
        raise UnsafePlanError(reasons)
