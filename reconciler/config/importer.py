"""`groupctl import`: a config written from live groups (read by `engine.service`), so that
have. Planning the result against the same groups shows no changes: each group is bound by
`id`, its members and admins listed as they are, its creator among the admins.

People are named from a `people:` directory when one is given, else from their numbers
(`p_14155550101`) or LIDs (`lid_204355791230411`); the session's own account is never listed
(groupctl never removes it anyway). Pictures are not imported: a group without `picture:`
keeps the one it has.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from io import StringIO

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.core.groups import DesiredState, LiveGroup, Member
from reconciler.core.jid import Jid
from reconciler.util.wording import count


@dataclass(frozen=True, slots=True)
class Imported:
    """The config written (YAML text), and what it holds."""

    text: str
    groups: int
    people: int


def write_config(
    groups: Sequence[LiveGroup],
    *,
    session: str,
    me: set[Jid | None],
    created: Mapping[Jid, int | None],
    known: DesiredState | None = None,
    api: str = "",
    now: datetime,
) -> Imported:
    """The config of `groups`, as read from `session` (whose own addresses are `me`);
    `created`: when each group was created, where Titan says."""
    # Who is who across groups: someone shown by LID in one group and by number (with that
    # LID) in another is one person, named once.
    numbers = {
        member.lid: jid
        for group in groups
        for jid, member in group.state.members.items()
        if member.lid is not None
    }
    names = _Names(known.directory if known else {}, numbers)
    config = CommentedMap()
    config["version"] = 1
    config["session"] = session
    people = CommentedMap()
    entries = CommentedMap()
    keys: set[str] = set()
    for group in groups:
        key = _key(group.state.subject, keys)
        entries[key] = _group(group, me, names)
        others = sum(1 for jid in group.state.members if jid not in me)
        when = created.get(group.id)
        since = f"created {datetime.fromtimestamp(when, UTC).date()}, " if when else ""
        others_text = f"{count(others, 'participant')} besides the session"
        entries.yaml_set_comment_before_after_key(key, before=since + others_text, indent=2)
    for name, spec in names.used():
        people[name] = spec
    config["people"] = people
    config["groups"] = entries
    config.yaml_set_start_comment(
        f"Imported by `groupctl import` from session {session!r}"
        + (f" at {api}" if api else "")
        + f" on {now:%Y-%m-%d %H:%M} UTC: {count(len(groups), 'group')},"
        f" {count(len(people), 'person', 'people')}.\n"
        "People are named from their numbers unless --people knew them: rename them freely\n"
        "(the number is what counts). Pictures are not imported: a group without picture:\n"
        "keeps its own. members_policy is exact: anyone not listed here would be removed."
    )
    yaml = YAML()
    yaml.width = 4096
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = StringIO()
    yaml.dump(config, out)
    return Imported(out.getvalue(), len(groups), len(people))


def _group(group: LiveGroup, me: set[Jid | None], names: _Names) -> CommentedMap:
    state = group.state
    entry = CommentedMap()
    entry["id"] = str(group.id)
    entry["subject"] = state.subject
    if state.description:
        entry["description"] = state.description
    others = {jid: m for jid, m in state.members.items() if jid not in me and m.lid not in me}
    plain = sorted(names.of(jid, m) for jid, m in others.items() if not m.admin)
    admins = sorted(names.of(jid, m) for jid, m in others.items() if m.admin)
    if plain or not admins:
        entry["members"] = CommentedSeq(plain)
    if admins:
        entry["admins"] = CommentedSeq(admins)
    return entry


class _Names:
    """Names for the people met: from a directory when it knows them, else made up from
    their addresses; and what to write under `people:` for each name used."""

    def __init__(self, directory: Mapping[Jid, str], numbers: Mapping[Jid, Jid]) -> None:
        self.directory = directory
        self.numbers = numbers  # LID -> phone JID, where some group showed both
        self.lids = {phone: lid for lid, phone in numbers.items()}
        self._specs: dict[str, str | dict[str, str]] = {}
        # What the directory knows of each name: its number and its LID, either may be None.
        self._known: dict[str, tuple[Jid | None, Jid | None]] = {}
        for address, name in directory.items():
            phone, lid = self._known.get(name, (None, None))
            self._known[name] = (address, lid) if address.is_phone else (phone, address)

    def of(self, jid: Jid, member: Member) -> str:
        number = jid if jid.is_phone else self.numbers.get(jid)
        lid = self.lids.get(number) if number else jid
        name = self.directory.get(number or jid) or (self.directory.get(lid) if lid else None)
        if name is None:
            name = f"p_{number.user}" if number else f"lid_{jid.user}"
        else:  # what the groups showed, completed by what the directory knew
            known_number, known_lid = self._known[name]
            number, lid = number or known_number, lid or known_lid
        phone = number.display() if number else None
        spec = {"phone": phone, "lid": str(lid)} if phone and lid else phone or {"lid": str(lid)}
        self._specs[name] = spec
        return name

    def used(self) -> list[tuple[str, str | dict[str, str]]]:
        return sorted(self._specs.items())


def _key(subject: str, taken: set[str]) -> str:
    """A stable name for a group from its subject: `Sales EMEA` -> `sales-emea`."""
    slug = re.sub(r"[^a-z0-9]+", "-", subject.lower()).strip("-") or "group"
    if not slug[0].isalpha():
        slug = f"group-{slug}"
    key, number = slug, 2
    while key in taken:
        key, number = f"{slug}-{number}", number + 1
    taken.add(key)
    return key
