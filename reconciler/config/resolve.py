"""From the merged config to a `DesiredState`: people, teams and groups resolved and checked.

Every rule that needs more than one value at a time lives here: names that must exist, team
cycles, duplicates, WhatsApp's limits, pictures on disk. Problems are collected, never raised
one by one, so a person sees every mistake at once.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import attrgetter, getitem
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from reconciler.config.entries import Entry, Merged
from reconciler.config.picturefile import checked_file, checked_url
from reconciler.config.teams import TEAM_PREFIX, Budget, listed_team, team_order
from reconciler.core.groups import (
    DesiredGroup,
    DesiredState,
    GroupState,
    LocalPicture,
    Member,
    Picture,
    Policy,
    UrlPicture,
    standing,
)
from reconciler.core.invites import DEFAULT_INVITE_MESSAGE
from reconciler.core.jid import Jid, parse_group_jid, parse_jid, parse_phone
from reconciler.core.limits import MAX_DESCRIPTION_LENGTH, MAX_GROUP_SIZE, MAX_SUBJECT_LENGTH
from reconciler.errors import InvalidJidError, Location, PictureError, Problem

if TYPE_CHECKING:
    from reconciler.config.model import GroupSpec, PersonSpec

_T = TypeVar("_T")
# jid.py says what is wrong with an address; someone editing a config also needs to hear what
# to write instead. Each fragment of its message picks the rest of ours.
_ADDRESS_HINTS = (
    (
        "has no country code",
        "has no country code: write it as +<country code> <number>, or set defaults: country:",
    ),
    (
        "is not a valid phone number in ",
        "is not a valid phone number: check its digits, its area code and its country code",
    ),
    (
        "is not a valid phone JID",
        "is not a valid phone JID: write the whole number with its country code, digits only,"
        " before the @ (14155550101@s.whatsapp.net)",
    ),
    ("is not a valid LID JID", "is not a valid LID: write its digits, then @lid (123456@lid)"),
    ("is not a valid group JID", "is not a valid group id: write its digits, then @g.us"),
)


# One Person per address (see Resolver._unlisted), so identity is equality: sets of them, which
# teams within teams fill by the million, hash by address in C, not by their fields.
@dataclass(frozen=True, eq=False, slots=True)
class Person:
    """One resolved member: address, LID when known, directory name when there is one."""

    jid: Jid
    lid: Jid | None = None
    name: str | None = None
    # Their standing in a group as a member and as an admin, made once for every group.
    standings: tuple[Member, Member] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        plain, admin = standing(lid=self.lid), standing(admin=True, lid=self.lid)
        object.__setattr__(self, "standings", (plain, admin))


_JID, _STANDINGS = attrgetter("jid"), attrgetter("standings")


class Resolver:
    def __init__(
        self, merged: Merged, problems: list[Problem], *, root: Path, budget: Budget
    ) -> None:
        self.merged = merged
        self.problems = problems
        self.root = root  # the config's directory: plans name picture files relative to it
        self.people: dict[str, Person] = {}
        # Everyone each team stands for, by the item that names it: "team:<name>".
        self.teams: dict[str, tuple[Person, ...]] = {}
        # Who each text a list may hold stands for, once known: a person's name, or an
        # address written before (each parsed and looked up once, however often listed).
        self._written: dict[str, Person] = {}
        self._by_address: dict[Jid, Person] = {}  # phone and LID of every listed person
        self._unlisted: dict[Jid, Person] = {}  # people written as an address only
        self.budget = budget
        # The first group key bound to each id, and to each subject by groups without an id.
        self._ids: dict[Jid, str] = {}
        self._subjects: dict[str, str] = {}

    def problem(self, where: Location, message: str) -> None:
        self.problems.append(Problem(where, message))

    def resolve(self) -> DesiredState:
        for name, spec in self.merged.people.items():
            self._person(name, spec)
            if name not in self.people:
                self.merged.broken.add(f"person:{name}")
        self._teams()
        groups = [self._group(key, entry) for key, entry in self.merged.groups.items()]
        built = [group for group in groups if group is not None]
        directory: dict[Jid, str] = {}
        for name, person in self.people.items():
            directory[person.jid] = name
            if person.lid is not None:
                directory[person.lid] = name
        return DesiredState(
            groups=tuple(built),
            directory=directory,
            session=self.merged.session,
            people=len(self.merged.people),
            teams=len(self.merged.teams),
        )

    # -- people and teams ------------------------------------------------------------------

    def _person(self, name: str, entry: Entry[PersonSpec | str | int]) -> None:
        spec = entry.value
        plain = isinstance(spec, str | int)
        phone_text, lid_text = (spec, None) if plain else (spec.phone, spec.lid)  # type: ignore[union-attr]
        if phone_text is None and lid_text is None:
            self.problem(entry.where(), f"person {name!r} needs a phone, a lid, or both")
            return
        phone = lid = None
        if phone_text is not None:
            at = () if plain else ("phone",)
            phone = self._parse(str(phone_text), entry, *at, phone_only=True)
        if lid_text is not None:
            lid = self._parse(lid_text, entry, "lid", lid_only=True)
        address = phone or lid
        if address is None:
            return
        for known in (phone, lid):
            other = self._by_address.get(known) if known else None
            if other is not None and other.name is not None:
                first = self.merged.people[other.name].where(key=True)
                self.problem(
                    entry.where(), f"{name!r} is the same person as {other.name!r} ({first})"
                )
                return
        person = Person(address, lid, name)
        self.people[name] = self._written[name] = person
        for known in (phone, lid):
            if known is not None:
                self._by_address[known] = person

    def _teams(self) -> None:
        """Each team expanded once, after the teams it lists (see teams.py)."""
        teams = self.merged.teams
        order, cycles = team_order({name: entry.value for name, entry in teams.items()})
        for cycle in cycles:
            self.problem(
                teams[cycle.team].where(cycle.index),
                f"team cycle: {cycle.shown}; a team cannot contain itself",
            )
        for name in order:
            label = f"team {name!r}"
            # Everyone once, in the order listed: a tuple is a fraction of a set's size.
            listed = self._listed(teams[name], label, owner=label, once=True)
            self.teams[f"{TEAM_PREFIX}{name}"] = tuple(listed)

    def _listed(
        self, entry: Entry[list[str]], label: str, *, owner: str, once: bool = False
    ) -> list[Person]:
        """Everyone a members, admins or team list stands for, in its order (`once`: each
        person once); an item listed twice (the same person however written, or the same
        team) is a problem at its second place. What it stands for is paid from the config's
        budget; `owner` names the team or group whose list it is, for the problem of the item
        that finds the budget spent.

        Lists hold a million items in a big config: a list of people met before (by name, or
        by an address written before) is looked up whole; any other item costs a lookup and
        an append, and the work of its kind."""
        known = list(map(self._written.get, entry.value))
        if None not in known and self.budget.fits(len(known)):  # no team in it, no mistake
            people = cast(list[Person], known)
            self.budget.spend(len(people))
            if len(set(people)) == len(people):
                return people
            self._report_twice(entry, cast(list[Person | str | None], people), label)
            return list(dict.fromkeys(people)) if once else people
        everyone: list[Person] = []
        # What each item is: the person, the team's item text, or None (a mistake, reported).
        listed: list[Person | str | None] = []
        written, teams, budget = self._written, self.teams, self.budget
        for index, text in enumerate(entry.value):
            found: Person | tuple[Person, ...] | None = written.get(text) or teams.get(text)
            if found is None:
                found = self._member(text, entry, index)
            if isinstance(found, Person):
                listed.append(found)
                cost = 1
            elif found is None:
                listed.append(None)
                continue
            else:
                listed.append(text)
                cost = len(found)
            if budget.exhausted:
                continue  # the config is refused: the items after that stand for nobody
            if not budget.spend(cost):
                self.problem(entry.where(index), budget.refusal(owner, text))
            elif isinstance(found, Person):
                everyone.append(found)
            else:
                everyone += found
        present = len(listed) - listed.count(None)
        if len(set(listed) - {None}) < present:
            self._report_twice(entry, listed, label)
        if once and len(entry.value) > 1:  # one item stands for everyone once already
            return list(dict.fromkeys(everyone))
        return everyone

    def _report_twice(
        self, entry: Entry[list[str]], listed: list[Person | str | None], label: str
    ) -> None:
        """Each item of a list that is an item before it again (`listed`: what each is)."""
        first_seen: dict[Person | str, int] = {}
        values = entry.value
        for index, same in enumerate(listed):
            if same is None:
                continue
            if same in first_seen:
                first = first_seen[same]
                self.problem(
                    entry.where(index),
                    f"{values[index]!r} is listed twice in {label} (first at line"
                    f" {entry.where(first).line}: {values[first]!r})",
                )
            else:
                first_seen[same] = index

    def _member(
        self, text: str, entry: Entry[list[str]], index: int
    ) -> Person | tuple[Person, ...] | None:
        """What an item of a list that is no name of people: stands for: a team's members
        (none for a team whose item closes a cycle), someone written as an address, or None
        for a mistake (reported here, or where it is defined)."""
        team = listed_team(text)
        if team is not None:
            if text in self.merged.broken:  # "team:<name>"
                return None  # its own mistake is reported where it is defined
            if team not in self.merged.teams:
                hint = _suggest(team, self.merged.teams) or _teams_to_use(self.merged.teams)
                self.problem(entry.where(index), f"unknown team {team!r}{hint}")
                return None
            return ()  # not expanded yet: this item closes a cycle, reported by team_order
        if f"person:{text}" in self.merged.broken:
            return None  # its own mistake is reported where it is defined
        if not _looks_like_address(text):
            hint = _suggest(text, self.people) or (
                f" (did you mean team:{text}?)"
                if text in self.merged.teams
                else ": add them under people:, or write their phone number"
            )
            self.problem(entry.where(index), f"unknown person {text!r}{hint}")
            return None
        jid = self._parse(text, entry, index)
        if jid is None:
            return None
        person = self._by_address.get(jid) or self._unlisted.get(jid)
        if person is None:
            person = self._unlisted[jid] = Person(jid)
        self._written[text] = person  # the same text met again stands for the same person
        return person

    def _parse(
        self,
        text: str,
        entry: Entry[Any],
        *at: str | int,
        phone_only: bool = False,
        lid_only: bool = False,
    ) -> Jid | None:
        """The address `text` (at `at` in `entry`) stands for, or None with its problem."""
        country = self.merged.country
        try:
            jid = (
                parse_phone(text, default_country=country)
                if phone_only and "@" not in text
                else parse_jid(text, default_country=country)
            )
        except InvalidJidError as exc:
            message = str(exc)
            hints = (f"{text!r} {hint}" for part, hint in _ADDRESS_HINTS if part in message)
            self.problem(entry.where(*at), next(hints, message))
            return None
        if lid_only and not jid.is_lid:
            wrong = "is not a LID: write its digits, then @lid (123456@lid)"
        elif phone_only and not jid.is_phone:
            wrong = "is not a phone number: write it as +<country code> <number>"
        elif jid.is_group:
            wrong = (
                "is a group, not a person: list people here (names from people:,"
                " phone numbers or JIDs)"
            )
        else:
            return jid
        self.problem(entry.where(*at), f"{text!r} {wrong}")
        return None

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
        if spec.description is not None and len(spec.description) > MAX_DESCRIPTION_LENGTH:
            self.problem(
                entry.where("description"),
                f"the description is {len(spec.description)} characters; WhatsApp"
                f" allows at most {MAX_DESCRIPTION_LENGTH}",
            )
        members = self._members(key, entry)
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
            ),
            source=entry.where(key=True),
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
        members, admins = (
            self._listed(
                Entry(getattr(entry.value, name), entry.document, (*entry.path, name)),
                name,
                owner=f"group {key!r}",
            )
            for name in ("members", "admins")
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
            path = checked_file(picture, Path(entry.document.file).resolve().parent)
        except PictureError as exc:
            self.problem(entry.where("picture"), str(exc))
            return None
        # Outside the root only when the YAML file is a link to another directory.
        shown = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        return LocalPicture(path, shown=str(shown))


def _looks_like_address(text: str) -> bool:
    """A number or a JID, not a name (names may contain digits: dev2)."""
    return "@" in text or text.lstrip()[:1] in ("+", "(") or text.lstrip()[:1].isdigit()


def _teams_to_use(teams: Iterable[str]) -> str:
    """The hint for an unknown team that is close to no known one."""
    names = sorted(teams)
    if not names:
        return ": no teams are defined yet: add it under teams:"
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return f": use one of {shown}, or define it under teams:"


def _suggest(text: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _invisible(text: str) -> str | None:
    """The first control, format (zero-width, bidi) or line-separating character of `text`,
    named (U+200B), or None. A zero-width joiner inside an emoji sequence is part of it."""
    for index, char in enumerate(text):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            joined = char == "\u200d" and 0 < index < len(text) - 1
            if not joined:
                return f"U+{ord(char):04X}"
    return None
