"""Safety brakes over a plan: too many removals at once is more often a mistake than a wish.

Applied by plan and apply alike, from the library, so no caller can forget them; only
`force` lifts them. Like peribolos and octoDNS: a plan may remove at most `max_removals`
members in all, and from a group of `group_min_size` or more members at most
`group_percent` percent of them, unless the group's own `limits:` in the config say otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.errors import GroupctlError
from reconciler.plan import Kind, Plan


class UnsafePlanError(GroupctlError):
    """The plan trips a safety brake; `reasons` says which, and how to go ahead."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        lines = "\n".join(f"  - {reason}" for reason in reasons)
        super().__init__(
            f"the plan is refused by the safety brakes:\n{lines}\n"
            "  If these removals are intended, run again with --force (or raise --max-removals,"
            " or the group's limits: in the config)."
        )


@dataclass(frozen=True, slots=True)
class Brakes:
    max_removals: int = 20
    group_percent: float = 25.0
    group_min_size: int = 8


def check(plan: Plan, brakes: Brakes = Brakes()) -> list[str]:
    """Why the plan is unsafe: one reason per brake it trips (none: it is safe)."""
    reasons: list[str] = []
    total = sum(group.count(Kind.REMOVE) for group in plan.groups)
    if total > brakes.max_removals:
        reasons.append(
            f"it removes {total} members in all, more than --max-removals {brakes.max_removals}"
        )
    for group in plan.groups:
        removed, size = group.count(Kind.REMOVE), group.members_before
        if not removed:
            continue
        name = f"{group.subject!r} [{group.key}]"
        if group.max_removals is not None and removed > group.max_removals:
            reasons.append(
                f"{name}: it removes {removed} members, more than the group's"
                f" limits: max_removals: {group.max_removals}"
            )
        percent = group.max_removal_percent
        if percent is None and size >= brakes.group_min_size:
            percent = brakes.group_percent
        if percent is not None and size and removed * 100 / size > percent:
            reasons.append(
                f"{name}: it removes {removed} of {size} members"
                f" ({removed * 100 / size:.0f}%), more than {percent:g}%"
            )
    return reasons


def raise_if_unsafe(plan: Plan, brakes: Brakes = Brakes(), *, force: bool = False) -> None:
    reasons = check(plan, brakes)
    if reasons and not force:
        raise UnsafePlanError(reasons)
