"""The webhooks of `groupctl watch`'s own changes: when it heals a group, Titan tells it about
the change it just made. Those deliveries are recognized (each expected change consumed once)
and dropped, so that watch does not fight itself."""

from __future__ import annotations

from typing import Any

from reconciler.errors import InvalidJidError
from reconciler.jid import Jid, jid_from_api
from reconciler.plan import Kind, Plan


class Echoes:
    """The changes whose webhooks are expected, by group, each until a time."""

    def __init__(self, window: float) -> None:
        self.window = window  # how long after a change its webhook is expected
        self._expected: dict[Jid, list[tuple[str, str, float]]] = {}

    def expect(self, result: Plan, now: float) -> None:
        """Remember the webhooks that applying `result` will cause."""
        until = now + self.window
        for group in result.groups:
            if group.group_id is None:
                continue
            expected = self._expected.setdefault(group.group_id, [])
            for action in group.actions:
                field_name = _ECHO_FIELDS.get(action.kind)
                if field_name is None:
                    continue
                if action.kind in (Kind.SUBJECT, Kind.DESCRIPTION):
                    expected.append((field_name, action.new or "", until))
                elif action.kind == Kind.PICTURE:
                    expected.append((field_name, "True", until))
                else:
                    expected += [(field_name, str(jid), until) for jid in action.members]

    def is_echo(self, group: Jid, payload: dict[str, Any], now: float) -> bool:
        """Whether the event is all made of changes this watcher made (each consumed once)."""
        expected = [e for e in self._expected.get(group, []) if e[2] >= now]
        items = []
        for name, value in payload.items():
            if name in ("id", "action"):
                continue
            for item in value if isinstance(value, list) else [value]:
                items.append((name, _normalized(item)))
        remaining = list(expected)
        for name, value in items:
            match = next((e for e in remaining if e[0] == name and e[1] == value), None)
            if match is None:
                return False
            remaining.remove(match)
        if not items:
            return False
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


def _normalized(item: Any) -> str:
    if isinstance(item, str) and "@" in item:
        try:
            return str(jid_from_api(item))
        except InvalidJidError:
            return item
    return str(item)
