"""The config's policy: rules (protected, never_remove, max_size, admins_from_team) checked
against the resolved groups, without the API. A group that breaks one carries the breach
(`DesiredGroup.broken_rules`): `groupctl check` reports it at the group's line, and plan
refuses the group. never_remove also goes to the planner (`DesiredGroup.never_remove`),
which refuses a plan that would remove those people whatever the config lists.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import replace

from reconciler.config.entries import Entry
from reconciler.config.members import Members
from reconciler.config.model import PolicyRule
from reconciler.config.teams import TEAM_PREFIX
from reconciler.core.groups import DesiredGroup
from reconciler.core.jid import Jid
from reconciler.errors import Problem
from reconciler.util.wording import count

# What each kind of rule needs besides groups.
_NEEDS = {"never_remove": "people", "max_size": "size", "admins_from_team": "team"}


def apply_rules(
    rules: Iterable[Entry[PolicyRule]],
    groups: list[DesiredGroup],
    members: Members,
    problems: list[Problem],
    *,
    defined: Collection[str] = (),
) -> list[DesiredGroup]:
    """`groups`, each with the rules it breaks and the people it must keep; a rule that is
    itself wrong (a group or team that does not exist, a value missing) is a problem.
    `defined`: every group key of the config, those with problems of their own too (a rule
    naming one of those is not wrong: the group's problems are reported already)."""
    by_key = {group.key: index for index, group in enumerate(groups)}
    names = {person.jid: name for name, person in members.people.items()}
    for entry in rules:
        rule = entry.value
        needed = _NEEDS.get(rule.rule)
        if needed is not None and not getattr(rule, needed):
            problems.append(Problem(entry.where(key=True), f"rule {rule.rule} needs {needed}:"))
            continue
        kept: frozenset[Jid] = frozenset()
        team: frozenset[Jid] = frozenset()
        if rule.rule == "never_remove":
            people = members.listed(entry.part("people", rule.people), "people", owner="rule")
            kept = frozenset(person.jid for person in people)
        elif rule.rule == "admins_from_team":
            found = members.teams.get(f"{TEAM_PREFIX}{rule.team}")
            if found is None:
                problems.append(Problem(entry.where("team"), f"unknown team {rule.team!r}"))
                continue
            team = frozenset(person.jid for person in found)
        for key in _groups(entry, by_key, defined, problems):
            group = groups[by_key[key]]
            said = _breach(rule, group, team, names)
            if kept:
                group = replace(group, never_remove=group.never_remove | kept)
                said = _unkept(group, kept, names)
            if said is not None:
                why = f" ({rule.why})" if rule.why else ""
                breach = f"{said}: policy rule at {entry.where(key=True)}{why}"
                group = replace(group, broken_rules=(*group.broken_rules, breach))
            groups[by_key[key]] = group
    return groups


def described(rules: Iterable[Entry[PolicyRule]]) -> tuple[str, ...]:
    """Each rule as one line of JSON, for comparing two versions of the config."""
    return tuple(
        json.dumps(entry.value.model_dump(exclude_defaults=True), sort_keys=True) for entry in rules
    )


def _unkept(group: DesiredGroup, kept: frozenset[Jid], names: dict[Jid, str]) -> str | None:
    """never_remove: an exact group must list them (or its plan would remove them), and no
    group may be deleted with them (a deleted group loses everyone)."""
    if group.policy.ensure == "absent":
        if group.policy.absent_action == "delete":
            return f"it is to be deleted, and may never lose {_people(kept, names)} (never_remove)"
        return None  # the session leaves: nobody else is removed
    missing = kept - group.state.members.keys()
    if not missing or group.policy.members_policy != "exact":
        return None
    return f"it must keep {_people(missing, names)} (never_remove), and does not list them"


def _groups(
    entry: Entry[PolicyRule],
    by_key: dict[str, int],
    defined: Collection[str],
    problems: list[Problem],
) -> list[str]:
    keys: list[str] = []
    for index, key in enumerate(entry.value.groups):
        if key == "*":
            keys += list(by_key)
        elif key in by_key:
            keys.append(key)
        elif key not in defined:
            problems.append(
                Problem(entry.where("groups", index), f"no group {key!r} in the config")
            )
    return list(dict.fromkeys(keys))


def _breach(
    rule: PolicyRule, group: DesiredGroup, team: frozenset[Jid], names: dict[Jid, str]
) -> str | None:
    """How `group` breaks `rule` (None: it keeps it); never_remove is seen to by the caller."""
    if rule.rule == "protected" and not group.policy.protect:
        return "it must be protect: true"
    if rule.rule == "max_size" and rule.size is not None and len(group.state.members) > rule.size:
        return f"it lists {len(group.state.members)} members, more than {rule.size} (max_size)"
    if rule.rule == "admins_from_team":
        outside = [jid for jid in group.state.admins if jid not in team]
        if outside:
            verb = "is an admin" if len(outside) == 1 else "are admins"
            return (
                f"{_people(outside, names)} {verb} and not in team {rule.team} (admins_from_team)"
            )
    return None


def _people(people: Iterable[Jid], names: dict[Jid, str] | None = None) -> str:
    shown = sorted((names or {}).get(jid) or jid.display() for jid in people)
    more = f" and {count(len(shown) - 5, 'other')}" if len(shown) > 5 else ""
    return ", ".join(shown[:5]) + more
