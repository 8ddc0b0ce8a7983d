"""From the merged config to a `DesiredState`: people, teams and groups resolved and checked.

Every rule that needs more than one value at a time lives here: names that must exist, team
cycles, duplicates, WhatsApp's limits, pictures on disk. Problems are collected, never raised
one by one, so a person sees every mistake at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Generic, TypeVar

from PIL import Image, UnidentifiedImageError

from reconciler.errors import InvalidJidError, Location, Problem
from reconciler.jid import Jid, parse_group_jid, parse_jid, parse_phone
from reconciler.state import (
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
from reconciler.titan.models import MAX_DESCRIPTION_LENGTH, MAX_GROUP_SIZE, MAX_SUBJECT_LENGTH

if TYPE_CHECKING:
    from reconciler.config.load import Merged
    from reconciler.config.model import GroupSpec, PersonSpec
    from reconciler.config.yamlfile import Path_, YamlDocument

TEAM_PREFIX = "team:"
_T = TypeVar("_T")


@dataclass(frozen=True)
class Entry(Generic[_T]):
    """A value of the config with the file and path it came from."""

    value: _T
    document: YamlDocument
    path: Path_
    invalid: frozenset[str] = frozenset()  # keys that failed the schema: left alone

    def where(self, *more: str | int, key: bool = False) -> Location:
        return self.document.where((*self.path, *more), key=key)


@dataclass(frozen=True)
class Person:
    """One resolved member: address, LID when known, directory name when there is one."""

    jid: Jid
    lid: Jid | None = None
    name: str | None = None

    def shown(self) -> str:
        return self.name or self.jid.display()


class Resolver:
    def __init__(self, merged: Merged, problems: list[Problem]) -> None:
        self.merged = merged
        self.problems = problems
        self.people: dict[str, Person] = {}
        self.teams: dict[str, frozenset[Person]] = {}
        self._by_address: dict[Jid, Person] = {}  # phone and LID of every listed person
        self._expanding: list[str] = []

    def problem(self, where: Location, message: str) -> None:
        self.problems.append(Problem(where, message))

    def resolve(self) -> DesiredState:
        for name, spec in self.merged.people.items():
            self._person(name, spec)
            if name not in self.people:
                self.merged.broken.add(f"person:{name}")
        for name, team in self.merged.teams.items():
            self._team(name, team)
        groups = [self._group(key, entry) for key, entry in self.merged.groups.items()]
        built = [group for group in groups if group is not None]
        self._check_across_groups(built)
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
        if not _is_name(name):
            self.problem(
                entry.where(key=True),
                f"{name!r} is not a usable name: start with a letter, and use no '@' or ':'",
            )
            return
        spec = entry.value
        phone_text, lid_text = (
            (spec, None) if isinstance(spec, str | int) else (spec.phone, spec.lid)
        )
        if phone_text is None and lid_text is None:
            self.problem(entry.where(), f"person {name!r} needs a phone, a lid, or both")
            return
        phone = lid = None
        if phone_text is not None:
            at = entry.where() if isinstance(spec, str | int) else entry.where("phone")
            phone = self._parse(str(phone_text), at, phone_only=True)
        if lid_text is not None:
            lid = self._parse(lid_text, entry.where("lid"), lid_only=True)
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
        self.people[name] = person
        for known in (phone, lid):
            if known is not None:
                self._by_address[known] = person

    def _team(self, name: str, entry: Entry[list[str]]) -> frozenset[Person]:
        if name in self.teams:
            return self.teams[name]
        self._expanding.append(name)
        members: set[Person] = set()
        for index, text in enumerate(entry.value):
            members |= self._member(text, entry, index)
        self._expanding.pop()
        self.teams[name] = frozenset(members)
        return self.teams[name]

    def _member(self, text: str, entry: Entry[list[str]], index: int) -> frozenset[Person]:
        """What one entry of a members, admins or team list stands for."""
        if text.startswith(TEAM_PREFIX):
            team = text.removeprefix(TEAM_PREFIX)
            if team in self._expanding:
                cycle = " -> ".join([*self._expanding[self._expanding.index(team) :], team])
                self.problem(
                    entry.where(index), f"team cycle: {cycle}; a team cannot contain itself"
                )
                return frozenset()
            if f"team:{team}" in self.merged.broken:
                return frozenset()  # its own mistake is reported where it is defined
            if team not in self.merged.teams:
                hint = _suggest(team, self.merged.teams)
                self.problem(entry.where(index), f"unknown team {team!r}{hint}")
                return frozenset()
            return self._team(team, self.merged.teams[team])
        if text in self.people:
            return frozenset({self.people[text]})
        if f"person:{text}" in self.merged.broken:
            return frozenset()  # its own mistake is reported where it is defined
        if not _looks_like_address(text):
            hint = _suggest(text, self.people) or (
                f" (did you mean team:{text}?)"
                if text in self.merged.teams
                else ": add them under people:, or write their phone number"
            )
            self.problem(entry.where(index), f"unknown person {text!r}{hint}")
            return frozenset()
        jid = self._parse(text, entry.where(index))
        if jid is None:
            return frozenset()
        return frozenset({self._by_address.get(jid) or Person(jid)})

    def _parse(
        self, text: str, where: Location, *, phone_only: bool = False, lid_only: bool = False
    ) -> Jid | None:
        country = self.merged.country
        try:
            jid = (
                parse_phone(text, default_country=country)
                if phone_only and "@" not in text
                else parse_jid(text, default_country=country)
            )
        except InvalidJidError as exc:
            message = str(exc)
            if "no country code" in message:
                message = (
                    f"{text!r} has no country code: write it as +<country code> <number>,"
                    " or set defaults: country:"
                )
            self.problem(where, message)
            return None
        if jid.is_group or (phone_only and not jid.is_phone) or (lid_only and not jid.is_lid):
            expected = (
                "a phone number"
                if phone_only
                else "a <digits>@lid"
                if lid_only
                else "a person, not a group"
            )
            self.problem(where, f"{text!r} is not {expected}")
            return None
        return jid

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
        if "subject" in entry.invalid:
            pass  # already reported
        elif spec.subject is None and (not absent or group_id is None):
            need = "subject" if not absent else "an id or a subject"
            self.problem(entry.where(key=True), f"group {key!r} needs {need}")
        elif spec.subject is not None:
            self._check_subject(spec.subject, entry)
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
            ),
            source=str(entry.where(key=True)),
        )

    def _check_subject(self, subject: str, entry: Entry[GroupSpec]) -> None:
        if not subject.strip():
            self.problem(entry.where("subject"), "the subject is empty: WhatsApp needs a name")
        elif len(subject) > MAX_SUBJECT_LENGTH:
            self.problem(
                entry.where("subject"),
                f"the subject is {len(subject)} characters; Titan allows at most"
                f" {MAX_SUBJECT_LENGTH}: shorten it",
            )

    def _members(self, key: str, entry: Entry[GroupSpec]) -> dict[Jid, Member]:
        people: dict[Person, bool] = {}
        for field in ("members", "admins"):
            listed: dict[Jid, int] = {}
            values = getattr(entry.value, field)
            field_entry = Entry(values, entry.document, (*entry.path, field))
            for index, text in enumerate(values):
                resolved = self._member(text, field_entry, index)
                if not text.startswith(TEAM_PREFIX) and len(resolved) == 1:
                    person = next(iter(resolved))
                    if person.jid in listed:
                        first = field_entry.where(listed[person.jid])
                        self.problem(
                            field_entry.where(index),
                            f"{text!r} is listed twice in {field} (first at line"
                            f" {first.line}: {values[listed[person.jid]]!r})",
                        )
                    else:
                        listed[person.jid] = index
                for person in resolved:
                    people[person] = people.get(person, False) or field == "admins"
        if len(people) > MAX_GROUP_SIZE:
            self.problem(
                entry.where("members", key=True),
                f"group {key!r} has {len(people)} members; WhatsApp groups hold at"
                f" most {MAX_GROUP_SIZE}",
            )
        return {p.jid: standing(admin=admin, lid=p.lid) for p, admin in people.items()}

    def _picture(self, picture: str, entry: Entry[GroupSpec]) -> Picture | None:
        where = entry.where("picture")
        if picture.startswith("https://"):
            return UrlPicture(picture)
        if "://" in picture:
            self.problem(where, "a picture URL must start with https://")
            return None
        base = Path(entry.document.file).resolve().parent
        try:
            path = (base / picture).resolve()
            outside = Path(picture).is_absolute() or not path.is_relative_to(base)
            missing = not outside and not path.exists()
            directory = not outside and path.is_dir()
        except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the system...
            self.problem(where, f"the picture {picture!r} is not a usable file name ({exc})")
            return None
        if outside:
            self.problem(
                where,
                f"the picture {picture!r} is outside the config's directory:"
                " keep pictures beside the YAML file",
            )
            return None
        if missing or directory:
            what = "is a directory" if directory else f"does not exist (looked for {path})"
            self.problem(where, f"the picture file {picture!r} {what}")
            return None
        try:
            with Image.open(path) as image:
                image.verify()
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            self.problem(where, f"the picture file {picture!r} is not an image Pillow can read")
            return None
        return LocalPicture(path, shown=_shown_path(path))

    def _check_across_groups(self, groups: list[DesiredGroup]) -> None:
        by_id: dict[Jid, DesiredGroup] = {}
        by_subject: dict[str, DesiredGroup] = {}
        for group in groups:
            entry = self.merged.groups[group.key]
            if group.id is not None:
                if group.id in by_id:
                    self.problem(
                        entry.where("id"),
                        f"groups {by_id[group.id].key!r} and"
                        f" {group.key!r} are bound to the same id {group.id}"
                        f" (first at {by_id[group.id].source})",
                    )
                by_id[group.id] = group
            else:  # present or absent: either way the subject says which live group it is
                subject = group.state.subject
                if subject in by_subject:
                    self.problem(
                        entry.where("subject"),
                        f"groups {by_subject[subject].key!r}"
                        f" and {group.key!r} both have the subject {subject!r} and no"
                        f" id (first at {by_subject[subject].source}): add id: to"
                        " tell them apart",
                    )
                by_subject[subject] = group


def _is_name(name: str) -> bool:
    return bool(name) and name[0].isalpha() and not any(c in name for c in "@:")


def _looks_like_address(text: str) -> bool:
    """A number or a JID, not a name (names may contain digits: dev2)."""
    return "@" in text or text.lstrip()[:1] in ("+", "(") or text.lstrip()[:1].isdigit()


def _shown_path(path: Path) -> str:
    """How plans name a picture file: relative to where groupctl runs, when it is below it,
    so that a plan made in one checkout of the config applies in another."""
    here = Path.cwd()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def _suggest(text: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
