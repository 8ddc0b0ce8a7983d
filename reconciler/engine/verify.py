"""Does a group, re-read after apply changed it, show what the plan meant?

WhatsApp's answers are not proof: engines answer 200 after silently dropping an address they
do not know, and a 404 on remove may mean "gone" or "not found by this address" (a group keyed
by LID finds nobody by phone JID). So apply re-reads every group it changed, once, and checks
each person against it, found by any of their addresses. Pure: the re-read is done by apply.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from reconciler.core.groups import GroupState, Member
from reconciler.core.jid import Jid
from reconciler.engine.plan import Kind

# What a re-read can check: people, and the subject and description (the picture cannot be
# read back: Titan documents no getter for it).
VERIFIABLE = frozenset(
    {Kind.CREATE, Kind.ADD, Kind.PROMOTE, Kind.DEMOTE, Kind.REMOVE, Kind.SUBJECT, Kind.DESCRIPTION}
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the group shows what an action meant (None: it cannot be told), and if not,
    what it shows instead."""

    as_planned: bool | None
    instead: str = ""


_CANNOT_TELL = Verdict(None)
_AS_PLANNED = Verdict(True)


class Reread:
    """A group as read again after its changes."""

    def __init__(self, state: GroupState, named: Collection[Jid] = ()) -> None:
        """`named`: addresses known to be people (the config's), so not someone else."""
        self.state = state
        self._by_address: dict[Jid, Member] = dict(state.members)
        self._by_address.update(
            (member.lid, member) for member in state.members.values() if member.lid is not None
        )
        # Participants shown by one address only, and nobody we know: one of them may be
        # someone known to us only by the other (a hidden number, or an API that leaves
        # LIDs out).
        unknown = [(jid, m) for jid, m in state.members.items() if jid not in named]
        self._lid_only = any(jid.is_lid for jid, _ in unknown)
        self._number_only = any(jid.is_phone and m.lid is None for jid, m in unknown)

    def verdict(self, kind: Kind, addresses: Iterable[Jid], *, new: str | None = None) -> Verdict:
        """What the group shows of `kind` done to the person of `addresses` (or, for the
        subject and description, set to `new`)."""
        if kind == Kind.SUBJECT:
            return _AS_PLANNED if self.state.subject == new else Verdict(False, "another subject")
        if kind == Kind.DESCRIPTION:
            shown = self.state.description or ""
            return _AS_PLANNED if shown == new else Verdict(False, "another description")
        addresses = tuple(addresses)
        if not addresses:  # the group's creation itself: it was re-read, so it exists
            return _AS_PLANNED
        member = self._find(addresses)
        if member is None:
            hidden = (self._lid_only and not any(a.is_lid for a in addresses)) or (
                self._number_only and not any(a.is_phone for a in addresses)
            )
            if hidden:
                return _CANNOT_TELL
            if kind == Kind.REMOVE:
                return _AS_PLANNED
            return Verdict(False, "the group re-read does not list them")
        if kind == Kind.REMOVE:
            return Verdict(False, "the group re-read still lists them")
        if kind == Kind.PROMOTE and not member.admin:
            return Verdict(False, "the group re-read shows them as a plain member")
        if kind == Kind.DEMOTE and member.admin:
            return Verdict(False, "the group re-read still shows them as an admin")
        return _AS_PLANNED

    def _find(self, addresses: tuple[Jid, ...]) -> Member | None:
        for address in addresses:
            found = self._by_address.get(address)
            if found is not None:
                return found
        return None
