"""Which live group is which config entry's, as watch has come to know them.

An entry with `id` is that group. An entry without one is found by its subject, and from then
on it stays that group's while the session is in it, whatever its subject becomes: someone who
renames a group must not make watch take it for a group to create.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.core.groups import DesiredGroup, DesiredState, ListedGroup
from reconciler.core.jid import Jid
from reconciler.engine.matching import match_groups


class Bindings:
    """Live group id -> the key of the config entry it is."""

    def __init__(self) -> None:
        self._keys: dict[Jid, str] = {}

    def key_of(self, group: Jid) -> str | None:
        """The entry a live group is, or None for a group no entry manages (or not seen yet)."""
        return self._keys.get(group)

    def pinned(self, desired: DesiredState, group: DesiredGroup) -> DesiredState:
        """`desired` with `group` bound to the live group it was found as before, if it has
        no id of its own (only `group` is planned from it); otherwise `desired` itself."""
        if group.id is not None:
            return desired
        before = next((gid for gid, key in self._keys.items() if key == group.key), None)
        if before is None:
            return desired
        return replace(desired, groups=(replace(group, id=before),))

    def bind(self, listed: tuple[ListedGroup, ...], desired: DesiredState) -> None:
        """Which live group is which entry's, after a check of `desired` (or all of them):
        an entry found before keeps its group while that group is listed."""
        listed_ids = {entry.id for entry in listed}
        before = {key: gid for gid, key in self._keys.items() if gid in listed_ids}
        matching = match_groups(desired, listed)
        bound = dict(before)
        for group in desired.groups:
            found = matching.bound.get(group.key)
            if group.id is not None or group.key not in before:
                if found is not None:
                    bound[group.key] = found
                else:
                    bound.pop(group.key, None)
        self._keys = {gid: key for key, gid in bound.items()}

    def created(self, group: Jid, key: str) -> None:
        """A heal created `group` for the entry `key`."""
        self._keys[group] = key
