"""`groupctl import`: a config written from live groups (read by `engine.service`), so that
have. Planning the result against the same groups shows no changes: each group is bound by
`id`, its members and admins listed as they are, its creator among the admins.

People are named from a `people:` directory when one is given, else from their numbers
(`p_14155550101`) or LIDs (`lid_204355791230411`); the session's own account is never listed
(groupctl never removes it anyway). Pictures are not imported: a group without `picture:`
keeps the one it has.

The YAML is written directly, not by a YAML library: at a thousand groups of two hundred
people a round-tripping dumper took most of a minute. Every scalar is written plain only where
YAML reads it back as that same string, double-quoted with escapes otherwise (a property test
holds `yaml.safe_load` to it). A config too big for one file (the loader reads files of up to
5 MB) is split into several, people first, which a directory config merges.

Several sessions (accounts) make one config: the first is its `session:`, every one is
declared under `sessions:`, and each group names its account unless it is the first's. A
group that more than one account is in is written once, for the first account that is admin
in it (else the first that is in it); the other accounts are then its members like anyone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime

from reconciler.config.yamlfile import MAX_FILE_BYTES
from reconciler.core.groups import DesiredState, LiveGroup, Member
from reconciler.core.jid import Jid
from reconciler.errors import SettingsError
from reconciler.util.untrusted import shown
from reconciler.util.wording import count

# Each file of a split config: under the loader's limit, with room for people to edit it.
SPLIT_AT = MAX_FILE_BYTES * 4 // 5
ONE_FILE = "groups.yaml"  # the file's name when a config that fits one is written to a directory


@dataclass(frozen=True, slots=True)
class SessionGroups:
    """What one session read for import: its groups, its own addresses (`me`, its number and
    LID), and when each group was created where Titan says."""

    session: str
    me: frozenset[Jid]
    groups: Sequence[LiveGroup]
    created: Mapping[Jid, int | None]


@dataclass(frozen=True, slots=True)
class Imported:
    """The config written: one file, or (too big for one) several for a directory, by name;
    what it holds; and, for several sessions, each group more than one account is in, with
    the session it was written for and the others."""

    files: dict[str, str]
    groups: int
    people: int
    shared: tuple[tuple[Jid, str, tuple[str, ...]], ...] = ()

    @property
    def one_file(self) -> bool:
        return list(self.files) == [ONE_FILE]

    @property
    def text(self) -> str:
        """The whole config, when it is one file."""
        if not self.one_file:
            raise ValueError("the config is split into several files")
        return self.files[ONE_FILE]


def check_beside(known: DesiredState, sessions: Sequence[str]) -> None:
    """Refuse to write, beside `known`, the groups of a session it does not manage."""
    declared = {known.session or "default", *known.sessions}
    strangers = [s for s in sessions if s not in declared]
    if strangers:
        raise SettingsError(
            f"the config beside it manages session {', '.join(map(repr, sorted(declared)))},"
            f" not {', '.join(map(repr, strangers))}: declare "
            + ("them" if len(strangers) > 1 else "it")
            + " under sessions: there first, or write elsewhere"
        )


def write_config(
    reads: Sequence[SessionGroups],
    *,
    known: DesiredState | None = None,
    api: str = "",
    now: datetime,
    split_at: int = SPLIT_AT,
    beside: bool = False,
) -> Imported:
    """The config of the groups `reads` found, each session's in the order given. Split into
    files of at most `split_at` bytes when it is bigger. `beside`: a file to sit beside
    `known` in its directory, read with it as one config: without `session:`, `sessions:`
    nor the people `known` names, and with group keys it does not use."""
    if beside and known is not None:
        check_beside(known, [read.session for read in reads])
    chosen, shared = _one_account_each(reads)
    session = (known.session or "default") if beside and known else reads[0].session
    several = len(reads) > 1
    groups = [group for _, group in chosen]
    # Who is who across groups: someone shown by LID in one group and by number (with that
    # LID) in another is one person, named once.
    numbers = {
        member.lid: jid
        for group in groups
        for jid, member in group.state.members.items()
        if member.lid is not None
    }
    names = _Names(known.directory if known else {}, numbers)
    beside_known = known if beside else None
    keys: set[str] = {group.key for group in beside_known.groups} if beside_known else set()
    named = set(beside_known.directory.values()) if beside_known else set()
    entries = []
    for read, group in chosen:
        me = set(read.me)
        others = sum(1 for jid, m in group.state.members.items() if not _is(jid, m, me))
        when = read.created.get(group.id)
        since = f"created {datetime.fromtimestamp(when, UTC).date()}, " if when else ""
        comment = f"  # {since}{count(others, 'participant')} besides the session\n"
        own = read.session if read.session != session else None
        key = _key(group.state.subject, keys)
        entries.append(comment + _group(key, group, me, names, session=own))
    people = [_person(name, spec) for name, spec in names.used() if name not in named]
    names_read = ", ".join(repr(read.session) for read in reads)  # valid session names
    declared = "".join(f"  {_scalar(read.session)}: {{}}\n" for read in reads)
    head = (
        f"# Imported by `groupctl import` from session{'s' if several else ''} {names_read}"
        + (f" at {shown(api)}" if api else "")
        + f" on {now:%Y-%m-%d %H:%M} UTC: {count(len(groups), 'group')},"
        f" {count(len(people), 'person', 'people')}.\n"
        "# People are named from their numbers unless --people knew them: rename them freely\n"
        "# (the number is what counts). Pictures are not imported: a group without picture:\n"
        "# keeps its own. members_policy is exact: anyone not listed here would be removed.\n"
        + (
            "# Written to be read with the config beside it: its session and people are there.\n"
            "version: 1\n"
            if beside_known
            else f"version: 1\nsession: {_scalar(session)}\n"
            + (f"sessions:\n{declared}" if several else "")
        )
    )
    whole = head + _section("people", people) + _section("groups", entries)
    if len(whole.encode()) <= split_at:
        return Imported({ONE_FILE: whole}, len(groups), len(people), shared)
    files = _split("people", people, head, split_at)
    files |= _split("groups", entries, "version: 1\n", split_at)
    return Imported(files, len(groups), len(people), shared)


def _one_account_each(
    reads: Sequence[SessionGroups],
) -> tuple[list[tuple[SessionGroups, LiveGroup]], tuple[tuple[Jid, str, tuple[str, ...]], ...]]:
    """Each group once, with the session it is written for: the first (in the order given)
    whose account is admin in it, else the first that is in it; and the groups more than one
    session read, as (id, the session chosen, the others)."""
    holders: dict[Jid, list[tuple[SessionGroups, LiveGroup]]] = {}
    place: dict[tuple[int, Jid], int] = {}  # where each session listed each group
    for n, read in enumerate(reads):
        for at, group in enumerate(read.groups):
            holders.setdefault(group.id, []).append((read, group))
            place[n, group.id] = at
    chosen, shared = [], []
    for gid, found in holders.items():
        admin = [(read, group) for read, group in found if _is_admin(group, read.me)]
        pick = (admin or found)[0]
        chosen.append(pick)
        if len(found) > 1:
            others = tuple(read.session for read, _ in found if read is not pick[0])
            shared.append((gid, pick[0].session, others))
    order = {id(read): n for n, read in enumerate(reads)}
    # Each session's groups together, in the order it listed them.
    chosen.sort(key=lambda pair: (order[id(pair[0])], place[order[id(pair[0])], pair[1].id]))
    return chosen, tuple(shared)


def _is_admin(group: LiveGroup, me: frozenset[Jid]) -> bool:
    return any(m.admin for jid, m in group.state.members.items() if _is(jid, m, me))


def _is(jid: Jid, member: Member, me: Set[Jid]) -> bool:
    """Whether the member is the session's own account: by either of its addresses."""
    return jid in me or (member.lid is not None and member.lid in me)


def _section(name: str, items: Sequence[str]) -> str:
    return f"{name}:\n" + "".join(items) if items else f"{name}: {{}}\n"


def _split(name: str, items: Sequence[str], head: str, split_at: int) -> dict[str, str]:
    """`items` under `name:` in as few files as keep each under `split_at`, named
    `people-01.yaml`, ... (`head` opens the first; `version: 1` each other)."""
    chunks: list[list[str]] = [[]]
    size = len(head.encode())
    for item in items:
        length = len(item.encode())
        if chunks[-1] and size + length > split_at:
            chunks.append([])
            size = 0
        chunks[-1].append(item)
        size += length
    return {
        f"{name}-{number:02d}.yaml": (head if number == 1 else "version: 1\n")
        + _section(name, chunk)
        for number, chunk in enumerate(chunks, start=1)
    }


def _group(key: str, group: LiveGroup, me: set[Jid], names: _Names, *, session: str | None) -> str:
    state = group.state
    lines = [f"  {_scalar(key)}:", f"    id: {_scalar(str(group.id))}"]
    if session is not None:
        lines.append(f"    session: {_scalar(session)}")
    lines.append(f"    subject: {_scalar(state.subject)}")
    if state.description:
        lines.append(f"    description: {_scalar(state.description)}")
    others = {jid: m for jid, m in state.members.items() if not _is(jid, m, me)}
    plain = sorted(names.of(jid, m) for jid, m in others.items() if not m.admin)
    admins = sorted(names.of(jid, m) for jid, m in others.items() if m.admin)
    if plain or not admins:
        lines.extend(_list("members", plain))
    if admins:
        lines.extend(_list("admins", admins))
    return "\n".join(lines) + "\n"


def _list(name: str, items: Sequence[str]) -> Iterator[str]:
    if not items:
        yield f"    {name}: []"
        return
    yield f"    {name}:"
    for item in items:
        yield f"      - {_scalar(item)}"


def _person(name: str, spec: str | dict[str, str]) -> str:
    if isinstance(spec, str):
        return f"  {_scalar(name)}: {_scalar(spec)}\n"
    fields = "".join(f"    {field}: {_scalar(value)}\n" for field, value in spec.items())
    return f"  {_scalar(name)}:\n{fields}"


# Read back by YAML as this very string: a word of letters, digits and `_.@-` starting with a
# letter, and not one of the words YAML 1.1 reads as true, false or null.
_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_.@-]*")
_NOT_PLAIN = frozenset({"y", "yes", "n", "no", "on", "off", "true", "false", "null"})
# What stands in a double-quoted scalar as it is: YAML's printable characters, less those it
# reads as line breaks (U+0085, U+2028, U+2029) and the byte order mark.
_UNPRINTABLE = re.compile(
    "[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def _scalar(text: str) -> str:
    """`text` as a YAML scalar that reads back as exactly `text`."""
    if _PLAIN.fullmatch(text) and text.lower() not in _NOT_PLAIN:
        return text
    quoted = json.dumps(text, ensure_ascii=False)  # JSON's escapes are YAML's too
    return _UNPRINTABLE.sub(lambda m: _escape(m.group()), quoted)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


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
        phone = number.e164 if number else None
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
