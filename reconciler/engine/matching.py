"""Which live group is which entry of the config: by `id:`, else by exact subject; ambiguity
and one live group claimed twice are refused, per entry."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from reconciler.core.groups import DesiredState, ListedGroup, same_subject
from reconciler.core.jid import Jid


@dataclass(frozen=True, slots=True)
class Matching:
    """Which live group each config group is (None: to be created), and which cannot be told."""

    bound: Mapping[str, Jid | None]
    errors: Mapping[str, str]
    unmanaged: int


def match_groups(desired: DesiredState, listed: Iterable[ListedGroup]) -> Matching:
    """A group with `id` is that group; without, the one live group of exactly its subject
    (compared as Unicode NFC, so a subject typed with combining accents is the same). In a
    shard's run, the other shards' groups are matched too, as in a run of them all, and left
    out of the answer: their groups are managed, not unmanaged."""
    if desired.whole_session:
        own = {group.key for group in desired.groups}
        every = match_groups(
            replace(desired, groups=desired.whole_session, whole_session=()), listed
        )
        return Matching(
            {key: jid for key, jid in every.bound.items() if key in own},
            {key: why for key, why in every.errors.items() if key in own},
            every.unmanaged,
        )
    listed = tuple(listed)
    ids = {entry.id for entry in listed}
    claimed = {group.id for group in desired.groups if group.id is not None}
    by_subject: dict[str, list[Jid]] = {}
    claimed_subjects: dict[str, Jid] = {}
    for entry in listed:
        if entry.id not in claimed:
            by_subject.setdefault(same_subject(entry.subject), []).append(entry.id)
        else:
            claimed_subjects.setdefault(same_subject(entry.subject), entry.id)
    claimed_by = {group.id: group.key for group in desired.groups if group.id is not None}
    bound: dict[str, Jid | None] = {}
    errors: dict[str, str] = {}
    for group in desired.groups:
        if group.id is not None:
            if group.id in ids:
                bound[group.key] = group.id
            elif group.policy.ensure == "present":
                errors[group.key] = (
                    f"its id {group.id} is not among the session's groups: it was deleted, or"
                    " the session is no longer in it (remove id: to create a new group)"
                )
            else:
                bound[group.key] = None  # absent, and already gone
            continue
        subject = same_subject(group.state.subject)
        found = by_subject.get(subject, [])
        taken = claimed_subjects.get(subject)
        if not found and taken is not None and group.policy.protect:
            # Its group went to another entry's id: creating a second one would not be the
            # group this protected entry keeps.
            errors[group.key] = (
                f"the live group of its subject, {taken}, is the group of"
                f" {claimed_by[taken]!r} by id: give this entry its own id:, or change one"
                " of the two"
            )
            continue
        if len(found) > 1:
            errors[group.key] = (
                f"{len(found)} live groups have the subject {group.state.subject!r}"
                f" ({', '.join(sorted(found))}): add id: to say which one"
            )
        else:
            bound[group.key] = found[0] if found else None
    _refuse_shared_groups(desired, listed, bound, errors)
    matched = {jid for jid in bound.values() if jid is not None}
    return Matching(bound, errors, unmanaged=len(ids - matched))


def _refuse_shared_groups(
    desired: DesiredState,
    listed: tuple[ListedGroup, ...],
    bound: dict[str, Jid | None],
    errors: dict[str, str],
) -> None:
    """One live group is one entry's. Refuse every entry of a live group claimed twice, and an
    entry that would leave or delete a group whose subject another entry keeps by name."""
    claims: dict[Jid, list[str]] = {}
    for key, group_id in bound.items():
        if group_id is not None:
            claims.setdefault(group_id, []).append(key)
    for group_id, keys in claims.items():
        if len(keys) > 1:
            for key in keys:
                others = ", ".join(repr(k) for k in keys if k != key)
                errors[key] = f"{group_id} is also the group of {others}: say which with id:"
                bound.pop(key)
    subjects = {entry.id: entry.subject for entry in listed}
    kept = {
        g.state.subject: g.key
        for g in desired.groups
        if g.id is None and g.policy.ensure == "present"
    }
    for group in desired.groups:
        group_id = bound.get(group.key)
        if group.policy.ensure == "absent" and group_id is not None:
            other = kept.get(subjects.get(group_id, ""))
            if other is not None:
                errors[group.key] = (
                    f"its group {group_id} has the subject {subjects[group_id]!r}, which"
                    f" {other!r} keeps by name: give {other!r} an id: to say which is which"
                )
                bound.pop(group.key)
