"""The webhooks of `groupctl watch`'s own changes: when it heals a group, Titan tells it about
the change it just made. Those deliveries are recognized (each expected change consumed once)
and dropped, so that watch does not fight itself.

A person in a webhook may come by number, by LID or both (a JIDRef): a change made to a
member is recognized by either of the addresses the live group showed for them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.core.groups import LiveState, Member
from reconciler.core.jid import Jid
from reconciler.engine.plan import Kind, Plan
from reconciler.watch.events import Change, Person


@dataclass(frozen=True, slots=True)
class _Expected:
    field: str
    value: str | frozenset[Jid]  # a text, or the addresses of a person
    until: float

    def matches(self, change: Change) -> bool:
        name, value = change
        if name != self.field:
            return False
        if isinstance(value, Person):
            return isinstance(self.value, frozenset) and bool(self.value & value.addresses)
        return self.value == value


class Echoes:
    """The changes whose webhooks are expected, by group, each until a time."""

    def __init__(self, window: float) -> None:
        self.window = window  # how long after a change its webhook is expected
        self._expected: dict[Jid, list[_Expected]] = {}

    def expect(self, result: Plan, now: float, live: LiveState | None = None) -> None:
        """Remember the webhooks that applying `result` will cause; `live` (the state it was
        planned from) gives the LIDs of the members it changes."""
        until = now + self.window
        for group in result.groups:
            if group.group_id is None:
                continue
            found = live.groups.get(group.group_id) if live is not None else None
            members = found.state.members if found is not None else {}
            expected = self._expected.setdefault(group.group_id, [])
            for action in group.actions:
                field_name = _ECHO_FIELDS.get(action.kind)
                if field_name is None:
                    continue
                if action.kind in (Kind.SUBJECT, Kind.DESCRIPTION):
                    expected.append(_Expected(field_name, action.new or "", until))
                elif action.kind == Kind.PICTURE:
                    expected.append(_Expected(field_name, "True", until))
                else:
                    expected += [
                        _Expected(field_name, _addresses(jid, members), until)
                        for jid in action.members
                    ]

    def is_echo(self, group: Jid, changes: tuple[Change, ...], now: float) -> bool:
        """Whether the event is all made of changes this watcher made (each consumed once)."""
        if not changes:
            return False
        remaining = [e for e in self._expected.get(group, []) if e.until >= now]
        for change in changes:
            match = next((e for e in remaining if e.matches(change)), None)
            if match is None:
                return False
            remaining.remove(match)
        self._expected[group] = remaining
        return True


_ECHO_FIELDS = {
    Kind.ADD: "joined",
    Kind.REMOVE: "left",
    Kind.PROMOTE: "promoted",
    Kind.DEMOTE: "demoted",
    Kind.SUBJECT: "newSubject",
    Kind.DESCRIPTION: "newDescription",
    Kind.PICTURE: "newPicture",
}


def _addresses(jid: Jid, members: Mapping[Jid, Member]) -> frozenset[Jid]:
    member = members.get(jid)
    if member is not None and member.lid is not None:
        return frozenset({jid, member.lid})
    return frozenset({jid})
