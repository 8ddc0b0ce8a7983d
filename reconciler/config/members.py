"""Who the items of a config's lists stand for: each person of `people:`, each address
written, each team expanded once after the teams it lists (see teams.py).

A big config's lists hold a million items: each text (a name, an address, team:<name>) is
resolved once and remembered, so that a list costs a lookup per item, or one lookup for the
whole list when it names people met before; what each list stands for is paid from the
config's budget.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from reconciler.config.entries import Entry, Merged
from reconciler.config.teams import TEAM_PREFIX, Budget, listed_team, team_order
from reconciler.core.groups import Member, standing
from reconciler.core.jid import Jid, parse_jid, parse_phone
from reconciler.errors import InvalidJidError, Location, Problem

if TYPE_CHECKING:
    from reconciler.config.model import PersonSpec

# "Did you mean" compares a name with every name of its kind: a config of thousands of
# mistaken names would compare each with all. The comparisons a config may spend on them;
# past that, mistakes get the general hint (some second's work at the most).
SUGGESTION_COMPARISONS = 500_000

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


# One Person per address (see Members._unlisted), so identity is equality: the sets and dicts
# that find someone listed twice, or make a team's list, hash them by identity, in C.
@dataclass(frozen=True, eq=False, slots=True)
class Person:
    """One resolved member: address, LID when known, directory name when there is one."""

    jid: Jid
    lid: Jid | None = None
    name: str | None = None
    # Their standing in a group as a member and as an admin, made once for every group.
    standings: tuple[Member, Member] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.lid is None:  # shared by everyone without a LID
            plain, admin = standing(), standing(admin=True)
        else:  # this person's own, made here once (a cache of them would only cost memory)
            plain, admin = Member(lid=self.lid), Member(admin=True, lid=self.lid)
        object.__setattr__(self, "standings", (plain, admin))


class Members:
    """The people and teams of a merged config, and what any list of it stands for."""

    def __init__(self, merged: Merged, problems: list[Problem], *, budget: Budget) -> None:
        self.merged = merged
        self.problems = problems
        self.budget = budget
        self.people: dict[str, Person] = {}
        # Everyone each team stands for, by the item that names it: "team:<name>".
        self.teams: dict[str, tuple[Person, ...]] = {}
        # Who each text a list may hold stands for, once known: a person's name, or an
        # address written before (each parsed and looked up once, however often listed).
        self._written: dict[str, Person] = {}
        self._by_address: dict[Jid, Person] = {}  # phone and LID of every listed person
        self._unlisted: dict[Jid, Person] = {}  # people written as an address only
        self._comparisons_left = SUGGESTION_COMPARISONS
        self._teams_hint: str | None = None

    def problem(self, where: Location, message: str) -> None:
        self.problems.append(Problem(where, message))

    def resolve(self) -> None:
        """Every person, then every team; a person whose entry fails is broken too."""
        for name, spec in self.merged.people.items():
            self._person(name, spec)
            if name not in self.people:
                self.merged.broken.add(f"person:{name}")
        self._teams()

    def _person(self, name: str, entry: Entry[PersonSpec | dict[str, str] | str | int]) -> None:
        spec = entry.value
        plain = isinstance(spec, str | int)
        phone_text: str | int | None
        lid_text: str | None
        if isinstance(spec, str | int):
            phone_text, lid_text = spec, None
        elif isinstance(spec, dict):  # as written: see load._taken_as_it_is
            phone_text, lid_text = spec.get("phone"), spec.get("lid")
        else:
            phone_text, lid_text = spec.phone, spec.lid
        if phone_text is None and lid_text is None:
            self.problem(entry.where(), f"person {name!r} needs a phone, a lid, or both")
            return
        phone = lid = None
        if phone_text is not None:
            at = () if plain else ("phone",)
            phone = self._parse(str(phone_text), entry, *at, phone_only=True, once=True)
        if lid_text is not None:
            lid = self._parse(lid_text, entry, "lid", lid_only=True, once=True)
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
            listed = self.listed(teams[name], label, owner=label, once=True)
            self.teams[f"{TEAM_PREFIX}{name}"] = tuple(listed)

    def listed(
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
        values = entry.value
        if len(values) == 1 and values[0] in self.teams:  # a team alone (teams within teams)
            team = self.teams[values[0]]  # its people, each once
            if self.budget.exhausted:
                return []  # the config is refused: this list stands for nobody
            if self.budget.spend(len(team)):
                return list(team)
            self.problem(entry.where(0), self.budget.refusal(owner, values[0]))
            return []
        known = list(map(self._written.get, values))
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
            if budget.spent + cost > budget.limit:  # (budget.spend, without two calls)
                budget.exhausted = True
                self.problem(entry.where(index), budget.refusal(owner, text))
                continue
            budget.spent += cost
            if isinstance(found, Person):
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
                hint = self._suggest(team, self.merged.teams) or self._teams_to_use()
                self.problem(entry.where(index), f"unknown team {team!r}{hint}")
                return None
            return ()  # not expanded yet: this item closes a cycle, reported by team_order
        if f"person:{text}" in self.merged.broken:
            return None  # its own mistake is reported where it is defined
        if not _looks_like_address(text):
            hint = self._suggest(text, self.people) or (
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

    def _suggest(self, text: str, names: Collection[str]) -> str:
        """The hint naming the name of `names` closest to `text` (did you mean 'x'?), if one
        is close, while the config's comparisons last; else nothing."""
        if len(names) > self._comparisons_left:
            return ""
        self._comparisons_left -= len(names)
        close = difflib.get_close_matches(text, list(names), n=1, cutoff=0.6)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def _teams_to_use(self) -> str:
        """The hint for an unknown team that is close to no known one (made once)."""
        if self._teams_hint is None:
            self._teams_hint = _teams_to_use(self.merged.teams)
        return self._teams_hint

    def _parse(
        self,
        text: str,
        entry: Entry[Any],
        *at: str | int,
        phone_only: bool = False,
        lid_only: bool = False,
        once: bool = False,
    ) -> Jid | None:
        """The address `text` (at `at` in `entry`) stands for, or None with its problem.
        `once`: read once in the config (a person's own), so not kept in the parsers' caches,
        which then hold the numbers that groups list instead of the tens of thousands of a
        big config's people."""
        country = self.merged.country
        phone, jid_of = (
            (parse_phone.__wrapped__, parse_jid.__wrapped__)
            if once
            else (
                parse_phone,
                parse_jid,
            )
        )
        try:
            jid = (
                phone(text, default_country=country)
                if phone_only and "@" not in text
                else jid_of(text, default_country=country)
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
