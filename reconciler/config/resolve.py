"""From the merged config to a `DesiredState`: people, teams and groups resolved and checked.

Every rule that needs more than one value at a time lives here and in members.py (who the
items of a list stand for): names that must exist, team cycles, duplicates, WhatsApp's
limits, pictures on disk. Problems are collected, never raised one by one, so a person sees
every mistake at once.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterator
from operator import attrgetter, getitem
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reconciler.config.entries import Entry, Merged
from reconciler.config.members import Members
from reconciler.config.names import name_problem
from reconciler.config.picturefile import checked_file, checked_url, placed
from reconciler.config.policy import apply_rules, described
from reconciler.config.teams import Budget
from reconciler.core.groups import (
    DesiredGroup,
    DesiredState,
    GroupState,
    LocalPicture,
    Member,
    Picture,
    Policy,
    UrlPicture,
    same_subject,
)
from reconciler.core.invites import DEFAULT_INVITE_MESSAGE, LINK_DISABLED_ROTATION, parse_period
from reconciler.core.jid import Jid, parse_group_jid
from reconciler.core.limits import MAX_DESCRIPTION_LENGTH, MAX_GROUP_SIZE, MAX_SUBJECT_LENGTH
from reconciler.errors import InvalidJidError, Location, PictureError, Problem
from reconciler.util.untrusted import repr_shown

if TYPE_CHECKING:
    from reconciler.config.model import GroupSpec
_JID, _STANDINGS = attrgetter("jid"), attrgetter("standings")


class Resolver:
    def __init__(
        self,
        merged: Merged,
        problems: list[Problem],
        *,
        root: Path,
        budget: Budget,
        pictures: bool = True,
    ) -> None:
        self.merged = merged
        self.pictures = pictures  # False: picture files named, not looked at
        self.problems = problems
        self.root = root  # the config's directory: plans name picture files relative to it
        self.members = Members(merged, problems, budget=budget)
        # The first group key bound to each id, and to each subject by groups without an id.
        self._ids: dict[Jid, str] = {}
        self._subjects: dict[str, str] = {}
        self._previous: dict[str, str] = {}  # each previously: key, and the group it names

    def problem(self, where: Location, message: str) -> None:
        self.problems.append(Problem(where, message))

    def resolve(self) -> DesiredState:
        self.members.resolve()
        self._check_templates()
        groups = [self._group(key, entry) for key, entry in self.merged.groups.items()]
        built = [group for group in groups if group is not None]
        if self.merged.sessions:
            self._check_accounts_apart(built)
        if self.merged.policy:
            built = apply_rules(
                self.merged.policy,
                built,
                self.members,
                self.problems,
                defined=self.merged.groups.keys()
                | {
                    name.removeprefix("group:")
                    for name in self.merged.broken
                    if name.startswith("group:")
                },
            )
        directory: dict[Jid, str] = {}
        for name, person in self.members.people.items():
            directory[person.jid] = name
            if person.lid is not None:
                directory[person.lid] = name
        return DesiredState(
            groups=tuple(built),
            directory=directory,
            session=self.merged.session,
            people=len(self.merged.people),
            teams=len(self.merged.teams),
            rules=described(self.merged.policy),
            sessions={name: spec.write_rate for name, (spec, _) in self.merged.sessions.items()},
            session_brakes={
                name: spec.limits.model_dump(exclude_none=True)
                for name, (spec, _) in self.merged.sessions.items()
                if spec.limits is not None
            },
        )

    # -- groups ----------------------------------------------------------------------------

    def _group(self, key: str, entry: Entry[GroupSpec]) -> DesiredGroup | None:
        spec, count = entry.value, len(self.problems)
        group_id = None
        if spec.id is not None:
            try:
                group_id = parse_group_jid(spec.id)
            except InvalidJidError as exc:
                self.problem(entry.where("id"), str(exc))
        absent = spec.ensure == "absent"
        if absent and (spec.members or spec.admins):
            self.problem(
                entry.where("members" if spec.members else "admins", key=True),
                f"group {key!r} is ensure: absent but lists members: remove them,"
                " or set ensure: present",
            )
        if absent and spec.protect:
            self.problem(
                entry.where("ensure"),
                f"group {key!r} is ensure: absent but also protect: true, which never leaves"
                " or deletes it: remove protect: true, or set ensure: present",
            )
        subject = None  # set once it is a subject WhatsApp takes
        if "subject" in entry.invalid:
            pass  # already reported
        elif spec.subject is None and (not absent or group_id is None):
            need = "subject" if not absent else "an id or a subject"
            self.problem(entry.where(key=True), f"group {key!r} needs {need}")
        elif spec.subject is not None and self._check_subject(spec.subject, entry):
            subject = spec.subject
        self._check_one_entry_per_live_group(key, entry, group_id, subject)
        self._check_previously(key, entry)
        if spec.description is not None and len(spec.description) > MAX_DESCRIPTION_LENGTH:
            self.problem(
                entry.where("description"),
                f"the description is {len(spec.description)} characters; WhatsApp"
                f" allows at most {MAX_DESCRIPTION_LENGTH}",
            )
        members = self._members(key, entry)
        with self._quiet(entry, "picture"):
            picture = self._picture(spec.picture, entry) if spec.picture is not None else None
        if len(self.problems) > count:
            return None
        limits = spec.limits
        return DesiredGroup(
            key=key,
            id=group_id,
            state=GroupState(
                subject=spec.subject or "",
                description=spec.description,
                picture=picture,
                members=members,
            ),
            policy=Policy(
                members_policy=spec.members_policy,
                protect=spec.protect,
                ensure=spec.ensure,
                absent_action=spec.absent_action,
                max_removals=limits.max_removals if limits else None,
                max_removal_percent=limits.max_removal_percent if limits else None,
                max_demotions=limits.max_demotions if limits else None,
                max_adds=limits.max_adds if limits else None,
                invite_message=self._invite_message(spec),
                min_admins=self._min_admins(spec),
                **self._invite_link(spec, entry),
            ),
            source=entry.where(key=True),
            previously=tuple(spec.previously),
            session=self._session(spec, entry),
        )

    def _invite_message(self, spec: GroupSpec) -> str | None:
        """The message that sends a group's invite link, or None when it is not to be sent:
        each of the two keys from the group, else from defaults:."""
        defaults = self.merged.defaults
        by_message = spec.invite_by_message
        if by_message is None:
            by_message = defaults.invite_by_message
        if not by_message:
            return None
        return spec.invite_message or defaults.invite_message or DEFAULT_INVITE_MESSAGE

    def _invite_link(self, spec: GroupSpec, entry: Entry[GroupSpec]) -> dict[str, Any]:
        """The group's invite_link (else defaults:'s, whole) as the policy's three fields."""
        link = spec.invite_link
        if link is None:
            link = self.merged.defaults.invite_link
        if link is None:
            return {}
        if link.disabled:
            if self._invite_message(spec) is not None:
                own = spec.invite_link is not None
                where = entry.where("invite_link") if own else entry.where(key=True)
                self.problem(
                    where,
                    "invite_link: disabled revokes the link that invite_by_message would send:"
                    " turn one of them off for this group",
                )
            return {
                "revoke_on_removal": True,
                "rotate_links_every": LINK_DISABLED_ROTATION,
                "links_disabled": True,
            }
        return {
            "revoke_on_removal": link.revoke_on_removal,
            "rotate_links_every": parse_period(link.rotate_every) if link.rotate_every else None,
        }

    def _min_admins(self, spec: GroupSpec) -> int:
        """The group's min_admins, else defaults:'s, else 0."""
        if spec.min_admins is not None:
            return spec.min_admins
        return self.merged.defaults.min_admins or 0

    def _session(self, spec: GroupSpec, entry: Entry[GroupSpec]) -> str | None:
        """The group's session: one of sessions:, or the top-level session."""
        name = spec.session
        known = {*self.merged.sessions, self.merged.session or "default"}
        if name is not None and name not in known and f"session:{name}" not in self.merged.broken:
            self.problem(
                entry.where("session"),
                f"unknown session {name!r}: declare it under sessions: (the sessions are"
                f" {', '.join(sorted(known))})",
            )
        return name

    def _check_templates(self) -> None:
        """Each template's people and picture, once, whether any group takes them or not:
        a mistake there is reported at its line, not again for each group (`_quiet`)."""
        for name, entry in self.merged.templates.items():
            spec = entry.value
            for key in ("members", "admins"):
                if key in spec.model_fields_set:
                    part = entry.part(key, getattr(spec, key))
                    self.members.listed(part, key, owner=f"template {name!r}")
            if spec.picture is not None:
                self._picture(spec.picture, entry)

    @contextlib.contextmanager
    def _quiet(self, entry: Entry[GroupSpec], key: str) -> Iterator[None]:
        """Problems of a group's `key` are dropped when the key comes from a template: the
        template's own check reported them, at its line (`_check_templates`)."""
        if not (entry.inherited and key in entry.inherited):
            yield
            return
        kept, dropped = self.problems, list[Problem]()
        self.problems = self.members.problems = dropped
        try:
            yield
        finally:
            self.problems = self.members.problems = kept

    def _check_previously(self, key: str, entry: Entry[GroupSpec]) -> None:
        """A key a group had before is no group's now, and no other group's before."""
        seen: set[str] = set()
        for index, old in enumerate(entry.value.previously):
            where = entry.where("previously", index)
            refused = name_problem("group key", old)
            if refused is not None:
                self.problem(where, refused)
            elif old in seen:
                self.problem(where, f"{old!r} is listed twice")
            elif old == key:
                self.problem(where, f"{old!r} is its own key: list only the keys it had before")
            elif old in self.merged.groups:
                self.problem(
                    where,
                    f"{old!r} is still a group of the config"
                    f" (at {self.merged.groups[old].where(key=True)}): a key is renamed once"
                    " the old entry is gone",
                )
            else:
                seen.add(old)
                first = self._previous.setdefault(old, key)
                if first != key:
                    self.problem(where, f"{old!r} is already claimed by group {first!r}")

    def _check_subject(self, subject: str, entry: Entry[GroupSpec]) -> bool:
        if not subject.strip():
            self.problem(entry.where("subject"), "the subject is empty: WhatsApp needs a name")
        elif len(subject) > MAX_SUBJECT_LENGTH:
            self.problem(
                entry.where("subject"),
                f"the subject is {len(subject)} characters; Titan allows at most"
                f" {MAX_SUBJECT_LENGTH}: shorten it",
            )
        elif hidden := _invisible(subject):
            # Two subjects that look the same must be the same subject: groups are found by it.
            self.problem(
                entry.where("subject"),
                f"the subject holds {hidden}, which no one sees: remove it (a subject that"
                " looks like another's must be the same text)",
            )
        else:
            return True
        return False

    def _check_accounts_apart(self, groups: list[DesiredGroup]) -> None:
        """Two accounts must not manage one live group: a group found by its subject (no id)
        may not share it with a group of another session, which the same live group may be
        (each account's run finds groups by subject on its own, and they would undo each
        other's changes for ever)."""
        top = self.merged.session or "default"
        by_subject: dict[str, list[DesiredGroup]] = {}
        for group in groups:
            by_subject.setdefault(same_subject(group.state.subject), []).append(group)
        for entries in by_subject.values():
            sessions = {group.session or top for group in entries}
            if len(sessions) < 2:
                continue
            for group in entries:
                if group.id is None:
                    others = [
                        repr_shown(g.key)
                        for g in entries
                        if (g.session or top) != (group.session or top)
                    ]
                    self.problem(
                        self.merged.groups[group.key].where("subject"),
                        f"group {group.key!r} has no id and the subject of {', '.join(others)}, of"
                        " another session: both accounts would manage the same live group. Add"
                        " id: to tell them apart",
                    )

    def _check_one_entry_per_live_group(
        self, key: str, entry: Entry[GroupSpec], group_id: Jid | None, subject: str | None
    ) -> None:
        """Two entries may not name the same live group: by id, or by subject when neither has
        an id. Checked as each group is read, not among the groups built, so that a group's
        other mistakes do not hide this one; `group_id` and `subject` are None unless valid."""
        if group_id is not None:
            first = self._ids.setdefault(group_id, key)
            if first != key:
                self.problem(
                    entry.where("id"),
                    f"groups {first!r} and {key!r} are bound to the same id {group_id}"
                    f" (first at {self.merged.groups[first].where(key=True)})",
                )
        elif subject is not None and entry.value.id is None and "id" not in entry.invalid:
            first = self._subjects.setdefault(subject, key)
            if first != key:
                self.problem(
                    entry.where("subject"),
                    f"groups {first!r} and {key!r} both have the subject {subject!r} and no id"
                    f" (first at {self.merged.groups[first].where(key=True)}): add id: to"
                    " tell them apart",
                )

    def _members(self, key: str, entry: Entry[GroupSpec]) -> dict[Jid, Member]:
        """Everyone the group lists, in order, each an admin when listed in admins."""
        with self._quiet(entry, "members"):
            members = self.members.listed(
                entry.part("members", entry.value.members), "members", owner=f"group {key!r}"
            )
        with self._quiet(entry, "admins"):
            admins = self.members.listed(
                entry.part("admins", entry.value.admins), "admins", owner=f"group {key!r}"
            )
        # Whole lists at a time (teams make them long): members first, then admins.
        people = dict.fromkeys(members, False)
        people.update(dict.fromkeys(admins, True))
        if len(people) > MAX_GROUP_SIZE:
            self.problem(
                entry.where("members", key=True),
                f"group {key!r} has {len(people)} members; WhatsApp groups hold at"
                f" most {MAX_GROUP_SIZE}",
            )
        # Made in C from the whole list: a comprehension was a twentieth of a big config's load.
        standings = map(getitem, map(_STANDINGS, people), people.values())
        return dict(zip(map(_JID, people), standings, strict=True))

    def _picture(self, picture: str, entry: Entry[GroupSpec]) -> Picture | None:
        try:
            if "://" in picture:
                return UrlPicture(checked_url(picture))
            check = checked_file if self.pictures else placed
            path = check(picture, Path(entry.document_of("picture").file).resolve().parent)
        except PictureError as exc:
            self.problem(entry.where("picture"), str(exc))
            return None
        # Outside the root only when the YAML file is a link to another directory.
        shown = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        return LocalPicture(path, shown=str(shown))


def _invisible(text: str) -> str | None:
    """The first control, format (zero-width, bidi) or line-separating character of `text`,
    named (U+200B), or None. A zero-width joiner inside an emoji sequence is part of it."""
    for index, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            joined = char == "\u200d" and 0 < index < len(text) - 1
            if not joined:
                return f"U+{ord(char):04X}"
    return None
