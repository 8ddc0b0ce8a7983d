"""Safety brakes over a plan: a run that does much that cannot be taken back, or much that
WhatsApp punishes, is more often a mistake than a wish.

Applied by plan and apply alike, from the library, so no caller can forget them; only `force`
lifts them all. Two kinds of limit, like peribolos and octoDNS:

- The run's (`Brakes`, from the flags): in all, a plan may remove at most `max_removals`
  members, demote `max_demotions` admins, leave `max_leaves` groups and delete
  `max_deletes`, add `max_adds` members (the people a create adds count too) and create
  `max_creates` groups. WhatsApp bans accounts that add people or create groups in bursts
  (about 45 creations a day): pacing spreads one run's calls, these bound how many there are.
  The config cannot raise them: a pull request does not lift its own brakes.
- Each group's: from a group of `group_min_size` or more members, at most `group_percent`
  percent may be removed. The group's own `limits:` in the config replace this for that group
  (a `max_removals:` of its own replaces the percentage), and may also cap its demotions and
  adds (`max_demotions:`, `max_adds:`). A group is never left or deleted with `protect: true`.

Deleting a group counts as removing everyone in it. The totals are per run: planning groups one
`--group` at a time gets around them, knowingly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from dataclasses import fields as dataclass_fields

from reconciler.engine.plan import GroupPlan, Kind, Plan
from reconciler.errors import UnsafePlanError
from reconciler.util.wording import count


@dataclass(frozen=True, slots=True)
class Brakes:
    """The run's limits; their defaults, and why, are in the README's Safety section."""

    max_removals: int = 20
    group_percent: float = 25.0
    group_min_size: int = 8
    # A group has a few admins: ten demotions is already a reshuffle of several groups, and
    # the mistake this catches (an admins: list or a team of admins emptied) demotes them all.
    max_demotions: int = 10
    # A group left cannot be entered again without an invite; a group deleted is gone for
    # everyone. Each takes an `ensure: absent` of its own: more at once is a bulk edit.
    max_leaves: int = 3
    max_deletes: int = 1
    # Onboarding a team of a hundred is one run; more is a new config's first apply, or a
    # mistake, and WhatsApp's spam signals are people added by an account in bulk.
    max_adds: int = 100
    # About 45 group creations in a day get an account banned: ten a run keeps four runs a
    # day below it.
    max_creates: int = 10


def lowered(brakes: Brakes, limits: Mapping[str, int]) -> Brakes:
    """The brakes, each limit in `limits` (by field) taking the place of a higher one: an
    account's own limits (sessions: limits:) lower the run's, never raise them."""
    return replace(
        brakes, **{name: min(getattr(brakes, name), limit) for name, limit in limits.items()}
    )


@dataclass(frozen=True, slots=True)
class _Total:
    """One of the run's limits: how to count it in a group, and how to say it is passed."""

    flag: str  # the Brakes field, and the --flag that sets it
    counted: Callable[[GroupPlan], int]
    what: Callable[[int], str]  # "removes 30 members"


def _removed(group: GroupPlan) -> int:
    if any(action.kind == Kind.DELETE for action in group.actions):
        return max(_size(group) - 1, 0)  # everyone but the session
    return group.count(Kind.REMOVE)


def _added(group: GroupPlan) -> int:
    created = sum(len(a.members) for a in group.actions if a.kind == Kind.CREATE)
    return created + group.count(Kind.ADD)


def _counting(kind: Kind) -> Callable[[GroupPlan], int]:
    return lambda group: group.count(kind)


def _saying(verb: str, noun: str) -> Callable[[int], str]:
    return lambda number: f"{verb} {count(number, noun)}"


_REMOVALS = _Total("max_removals", _removed, _saying("removes", "member"))
_DEMOTIONS = _Total("max_demotions", _counting(Kind.DEMOTE), _saying("demotes", "admin"))
_ADDS = _Total("max_adds", _added, _saying("adds", "member"))
_TOTALS = (
    _REMOVALS,
    _DEMOTIONS,
    _Total("max_leaves", _counting(Kind.LEAVE), _saying("leaves", "group")),
    _Total("max_deletes", _counting(Kind.DELETE), _saying("deletes", "group")),
    _ADDS,
    _Total("max_creates", _counting(Kind.CREATE), _saying("creates", "group")),
)


def check(plan: Plan, brakes: Brakes = Brakes()) -> list[str]:
    """Why the plan is unsafe: one reason per brake it trips (none: it is safe).

    A group's size is read from the snapshot of it the plan was made from, when there is one.
    """
    reasons: list[str] = []
    for total in _TOTALS:
        done = sum(total.counted(group) for group in plan.groups)
        limit: int = getattr(brakes, total.flag)
        if done > limit:
            flag = "--" + total.flag.replace("_", "-")
            reasons.append(f"it {total.what(done)} in all, more than {flag} {limit}")
    for group in plan.groups:
        reasons += _group_reasons(group, brakes)
    return reasons


def _group_reasons(group: GroupPlan, brakes: Brakes) -> list[str]:
    """What trips the group's own limits (or, without them, the percentage)."""
    name = f"{group.subject!r} [{group.key}]"
    reasons = [
        f"{name}: it {total.what(done)}, more than the group's limits: {total.flag}: {limit}"
        for total, limit in (
            (_REMOVALS, group.max_removals),
            (_DEMOTIONS, group.max_demotions),
            (_ADDS, group.max_adds),
        )
        if limit is not None and (done := total.counted(group)) > limit
    ]
    removed, size = _removed(group), _size(group)
    percent = group.max_removal_percent
    if percent is None and group.max_removals is None and size >= brakes.group_min_size:
        percent = brakes.group_percent  # the group's own max_removals replaces it
    if removed and percent is not None and size and removed * 100 / size > percent:
        reasons.append(
            f"{name}: it removes {removed} of {size} members"
            f" ({removed * 100 / size:.0f}%), more than {percent:g}%"
        )
    return reasons


def _size(group: GroupPlan) -> int:
    snapshot = group.snapshot
    if snapshot is not None and isinstance(snapshot.get("members"), list):
        return len(snapshot["members"])
    return group.members_before


def assess(plan: Plan, brakes: Brakes = Brakes(), *, force: bool = False) -> Plan:
    """`plan` with the brakes' verdict in it, and the brakes, for renderers and plan files."""
    return replace(plan, brakes=tuple(check(plan, brakes)), forced=force, limits=asdict(brakes))


def assess_together(plans: Sequence[Plan]) -> list[tuple[str, tuple[str, ...]]]:
    """The sessions whose shards' plans, each within its brakes, the brakes stop together, and
    why: N jobs of a CI matrix each count their own shard, so a session's removals (creates,
    adds...) in all are counted here, under the lowest of the brakes the plans were made
    with. A session whose plans were all forced (--force) is not stopped."""
    stopped = []
    for session in dict.fromkeys(plan.session for plan in plans):
        own = [plan for plan in plans if plan.session == session]
        if len(own) < 2 or not all(plan.limits for plan in own) or all(p.forced for p in own):
            continue
        brakes = Brakes()
        for field in dataclass_fields(Brakes):
            if all(field.name in plan.limits for plan in own):
                lowest = min(plan.limits[field.name] for plan in own)
                kind = type(getattr(brakes, field.name))  # int, or float for a percentage
                brakes = replace(brakes, **{field.name: kind(lowest)})
        together = replace(own[0], groups=tuple(g for plan in own for g in plan.groups))
        reasons = check(together, brakes)
        if reasons:
            stopped.append((session, tuple(reasons)))
    return stopped


def raise_if_unsafe(plan: Plan, brakes: Brakes = Brakes(), *, force: bool = False) -> None:
    """Raise UnsafePlanError if the brakes stop `plan` (checked afresh, whatever it says)."""
    reasons = check(plan, brakes)
    if reasons and not force:
        raise UnsafePlanError(reasons)
