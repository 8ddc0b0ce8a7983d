"""What a change of the config changes: two desired states compared, without the API.

For reviews where no API key is at hand (a pull request from a fork): which groups are added,
removed or renamed, and per group who joins, leaves, gains or loses admin, and which settings
change. deepdiff explains the difference between the two normalized states; nothing here
decides what apply would do (that is the planner's job, against live state).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from deepdiff import DeepDiff
from deepdiff.helper import notpresent

from reconciler.core.groups import DesiredGroup, DesiredState, LocalPicture, Picture, Policy
from reconciler.core.jid import Jid, jid_from_api
from reconciler.core.pictures import MAX_PICTURE_BYTES
from reconciler.util.wording import count

Status = Literal["added", "removed", "changed"]
# Settings of a group, as shown, in this order.
SETTINGS = (
    "id",
    "subject",
    "description",
    "picture",
    "members_policy",
    "protect",
    "ensure",
    "absent_action",
    "max_removals",
    "max_removal_percent",
    "max_demotions",
    "max_adds",
    "min_admins",
    "invite_link",
    "session",
)


@dataclass(frozen=True, slots=True)
class GroupChange:
    """One group of the config, added, removed, or changed between two versions."""

    key: str
    status: Status
    subject: str  # the new subject (the old one for a removed group)
    settings: tuple[tuple[str, Any, Any], ...] = ()  # (setting, old, new)
    joins: tuple[Jid, ...] = ()
    leaves: tuple[Jid, ...] = ()
    promoted: tuple[Jid, ...] = ()  # members who become admins
    demoted: tuple[Jid, ...] = ()  # admins who become plain members
    goes: str | None = None  # "leave" or "delete": the new config has the session do so
    renamed_from: str | None = None  # the key it had in the old config (previously:)
    hint: str | None = None  # what a reviewer must know before this merges

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "status": self.status,
            "subject": self.subject,
            "settings": [{"name": n, "old": old, "new": new} for n, old, new in self.settings],
            "joins": list(self.joins),
            "leaves": list(self.leaves),
            "promoted": list(self.promoted),
            "demoted": list(self.demoted),
            "goes": self.goes,
            "renamed_from": self.renamed_from,
            "hint": self.hint,
        }


@dataclass(frozen=True, slots=True)
class ConfigDiff:
    """Every group that differs, in the new config's order (removed ones last), and people
    whose address changed in `people:`."""

    groups: tuple[GroupChange, ...]
    readdressed: tuple[tuple[str, Jid, Jid], ...] = ()  # (name, old address, new address)
    # policy: rules (each a line of JSON) the new config drops, and those it adds.
    rules_removed: tuple[str, ...] = ()
    rules_added: tuple[str, ...] = ()
    directory: Mapping[Jid, str] = field(default_factory=dict)  # names, new over old

    @property
    def has_changes(self) -> bool:
        return bool(self.groups or self.readdressed or self.rules_removed or self.rules_added)

    @property
    def is_destructive(self) -> bool:
        """Whether someone leaves or loses admin, a group is now to be left or deleted, or a
        policy rule is dropped (what it kept is kept no longer). (A group dropped from the
        config is not: groupctl stops managing it, nothing more.)"""
        return bool(self.rules_removed) or any(
            group.leaves or group.demoted or group.goes for group in self.groups
        )

    def summary(self) -> str:
        """`Config diff: 1 group added, 2 changed; 3 people join, 1 leaves, 1 gains admin.`"""
        by_status = {
            status: sum(1 for g in self.groups if g.status == status)
            for status in ("added", "removed", "changed")
        }
        groups = [f"{n} {status}" for status, n in by_status.items() if n]
        people = [
            (sum(len(g.joins) for g in self.groups), "joins", "join"),
            (sum(len(g.leaves) for g in self.groups), "leaves", "leave"),
            (sum(len(g.promoted) for g in self.groups), "gains admin", "gain admin"),
            (sum(len(g.demoted) for g in self.groups), "loses admin", "lose admin"),
        ]
        moves = [f"{n} {one if n == 1 else many}" for n, one, many in people if n]
        if not groups and not self.readdressed and not self.rules_removed + self.rules_added:
            return "Config diff: no changes."
        text = "Config diff: "
        text += f"{count(len(self.groups), 'group')} " if groups else ""
        text += f"({', '.join(groups)})" if groups else ""
        if moves:
            text += f"; {count(sum(n for n, _, _ in people), 'membership change')}: "
            text += ", ".join(moves)
        if self.readdressed:
            text += f"; {count(len(self.readdressed), 'person', 'people')} with a new address"
        for rules, done in ((self.rules_removed, "removed"), (self.rules_added, "added")):
            if rules:
                text += f"; {count(len(rules), 'policy rule')} {done}"
        return text.replace("Config diff: ; ", "Config diff: ") + "."

    def to_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "groups": [group.to_json() for group in self.groups],
            "rules_removed": [json.loads(rule) for rule in self.rules_removed],
            "rules_added": [json.loads(rule) for rule in self.rules_added],
            "readdressed": [
                {"name": name, "old": old, "new": new} for name, old, new in self.readdressed
            ],
            "directory": dict(sorted(self.directory.items())),
        }


def diff(old: DesiredState, new: DesiredState) -> ConfigDiff:
    """How `new` differs from `old`, group by group and person by person. A group whose
    previously: names a key of `old` that `new` no longer has is compared with that entry."""
    before, after = _comparable(old), _comparable(new)
    renamed = _renames(old, new)
    for key, was in renamed.items():
        before[key] = before.pop(was)
    # threshold 0: always person by person, even when most of a group's members change.
    tree = DeepDiff(before, after, view="tree", threshold_to_diff_deeper=0)
    changes: dict[str, dict[str, Any]] = {}

    def group(key: str) -> dict[str, Any]:
        return changes.setdefault(key, {"settings": [], "members": []})

    for kind in ("dictionary_item_added", "dictionary_item_removed"):
        for change in tree.get(kind, []):
            path = change.path(output_format="list")
            if len(path) == 1:
                group(path[0])["status"] = "added" if kind.endswith("added") else "removed"
            elif path[1] == "members":
                group(path[0])["members"].append((path[2], change.t1, change.t2))
    for kind in ("values_changed", "type_changes"):
        for change in tree.get(kind, []):
            path = change.path(output_format="list")
            if path[1] == "members":
                group(path[0])["members"].append((path[2], change.t1, change.t2))
            else:
                group(path[0])["settings"].append((path[1], change.t1, change.t2))
    for key in renamed:  # a rename is a change, even with nothing else
        group(key)
    gone = set(after) | set(renamed.values())
    order = [g.key for g in new.groups] + [g.key for g in old.groups if g.key not in gone]
    return ConfigDiff(
        groups=tuple(
            _renamed(_group_change(key, changes[key], before, after), renamed, before, after)
            for key in order
            if key in changes
        ),
        readdressed=_readdressed(old.directory, new.directory),
        rules_removed=tuple(rule for rule in old.rules if rule not in new.rules),
        rules_added=tuple(rule for rule in new.rules if rule not in old.rules),
        directory={**old.directory, **new.directory},
    )


def _renames(old: DesiredState, new: DesiredState) -> dict[str, str]:
    """Each group of `new` renamed from a key of `old` (its latest previously: key that `old`
    has and `new` has not), by its new key."""
    kept = {group.key for group in new.groups}
    had = {group.key for group in old.groups}
    renamed: dict[str, str] = {}
    for group in new.groups:
        if group.key in had:
            continue
        for was in reversed(group.previously):
            if was in had and was not in kept:
                renamed[group.key] = was
                break
    return renamed


def _renamed(
    change: GroupChange,
    renamed: Mapping[str, str],
    before: Mapping[str, Any],
    after: Mapping[str, Any],
) -> GroupChange:
    """`change` with the key it was renamed from, and a hint when the rename loses the live
    group: bound by subject alone, and the subject changes too."""
    was = renamed.get(change.key)
    if was is None:
        return change
    old, new = before[change.key], after[change.key]
    hint = None
    if new["id"] is None and old["id"] is None and old["subject"] != new["subject"]:
        hint = (
            f"it is bound to its live group by subject alone, and its subject changes with its"
            f" key: plan will create a new group {new['subject']!r} and leave"
            f" {old['subject']!r} unmanaged. To rename the live group instead, add id: (groupctl"
            " status --groups shows it) in this change"
        )
    return replace(change, renamed_from=was, hint=hint)


def _group_change(
    key: str, found: dict[str, Any], before: Mapping[str, Any], after: Mapping[str, Any]
) -> GroupChange:
    status: Status = found.get("status", "changed")
    if status == "added":
        members = after[key]["members"]
        # A new entry may well be about a live group: one to leave or delete says so.
        absent = after[key]["ensure"] == "absent"
        return GroupChange(
            key,
            status,
            after[key]["subject"],
            settings=(
                (("ensure", None, "absent"), ("absent_action", None, after[key]["absent_action"]))
                if absent
                else ()
            ),
            joins=_people(m for m in members),
            promoted=_people(m for m, role in members.items() if role == "admin"),
            goes=_goes(after[key]),
        )
    if status == "removed":  # no longer managed: nobody leaves it for that
        return GroupChange(key, status, before[key]["subject"])
    moved = found["members"]
    rank = {name: index for index, name in enumerate(SETTINGS)}
    settings = sorted(found["settings"], key=lambda setting: rank[setting[0]])
    return GroupChange(
        key,
        status,
        after[key]["subject"],
        settings=tuple(settings),
        joins=_people(jid for jid, old, _ in moved if old is notpresent),
        leaves=_people(jid for jid, _, new in moved if new is notpresent),
        promoted=_people(jid for jid, old, new in moved if new == "admin" and old != new),
        demoted=_people(jid for jid, old, new in moved if old == "admin" and new == "member"),
        goes=_goes(after[key]),
    )


def _goes(group: Mapping[str, Any]) -> str | None:
    return str(group["absent_action"]) if group["ensure"] == "absent" else None


def _comparable(state: DesiredState) -> dict[str, Any]:
    """The state as plain data that deepdiff explains: groups by key, members by address."""
    return {group.key: _group(group) for group in state.groups}


def _group(group: DesiredGroup) -> dict[str, Any]:
    policy, state = group.policy, group.state
    return {
        "id": group.id,
        "subject": state.subject,
        "description": state.description,
        "picture": _picture(state.picture),
        "members_policy": policy.members_policy,
        "protect": policy.protect,
        "ensure": policy.ensure,
        "absent_action": policy.absent_action,
        "max_removals": policy.max_removals,
        "max_removal_percent": policy.max_removal_percent,
        "max_demotions": policy.max_demotions,
        "max_adds": policy.max_adds,
        "min_admins": policy.min_admins,
        "invite_link": _invite_link(policy),
        "session": group.session,
        "members": {
            jid: "admin" if member.admin else "member" for jid, member in state.members.items()
        },
    }


def _invite_link(policy: Policy) -> str | dict[str, Any] | None:
    """invite_link as the config writes it (None: left alone)."""
    if policy.links_disabled:
        return "disabled"
    every = policy.rotate_links_every
    link: dict[str, Any] = {}
    if policy.revoke_on_removal:
        link["revoke_on_removal"] = True
    if every is not None:
        hours = int(every.total_seconds()) // 3600
        link["rotate_every"] = f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"
    return link or None


def _picture(picture: Picture | None) -> str | None:
    """A picture as a source and, for a file that is there, a digest of its content: a
    picture replaced under the same name is a change too. A file that is not there (a
    checkout without the pictures, a path mistyped) is compared by its name alone: a diff
    says what the configs say, and `validate` says which files are missing."""
    if picture is None:
        return None
    if isinstance(picture, LocalPicture):
        name = picture.shown or str(picture.path)
        try:
            # Opened without waiting (a pipe would hang the diff), then only a regular file
            # of a picture's size is read: what is checked is what is read.
            fd = os.open(picture.path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return f"{name} (not there)"
        with os.fdopen(fd, "rb") as file:
            status = os.fstat(fd)
            if not stat.S_ISREG(status.st_mode):
                return f"{name} (not a file)"
            if status.st_size > MAX_PICTURE_BYTES:
                return f"{name} (not a picture file: {status.st_size:,} bytes)"
            content = file.read(MAX_PICTURE_BYTES + 1)
        return f"{name} (sha256 {hashlib.sha256(content).hexdigest()[:12]})"
    return str(getattr(picture, "url", picture))


def _people(jids: Any) -> tuple[Jid, ...]:
    return tuple(sorted(jid_from_api(jid) for jid in jids))


def _readdressed(
    old: Mapping[Jid, str], new: Mapping[Jid, str]
) -> tuple[tuple[str, Jid, Jid], ...]:
    """People of both directories whose phone (or, without one, LID) changed."""

    def addresses(directory: Mapping[Jid, str]) -> dict[str, Jid]:
        found: dict[str, Jid] = {}
        for jid, name in directory.items():
            if name not in found or (jid.is_phone and not found[name].is_phone):
                found[name] = jid
        return found

    before, after = addresses(old), addresses(new)
    return tuple(
        (name, before[name], after[name])
        for name in sorted(before.keys() & after.keys())
        if before[name] != after[name]
    )
