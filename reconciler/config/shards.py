"""Which groups a run takes: one session's (`--session`), and a stable share of them
(`--shard K/N`), so that N jobs of a CI matrix split a config without overlap.

A group's shard is a hash of its session and key: it stays where it is when other groups come
and go, on any machine, in any Python (no hash seed), and every group is in exactly one.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from reconciler.core.groups import DesiredGroup, DesiredState
from reconciler.errors import UsageError
from reconciler.util.untrusted import repr_shown, shown

MAX_SHARDS = 256


def parse_shard(text: str) -> tuple[int, int]:
    """`2/5` as (2, 5): UsageError unless 1 <= K <= N <= MAX_SHARDS."""
    found = re.fullmatch(r"([0-9]{1,4})/([0-9]{1,4})", text.strip())
    if found is None or not 1 <= int(found[1]) <= int(found[2]) <= MAX_SHARDS:
        raise UsageError(f"--shard {text[:40]!r}: expected K/N, 1 <= K <= N <= {MAX_SHARDS}")
    return int(found[1]), int(found[2])


def shard_of(session: str, key: str, shards: int) -> int:
    """The shard (1 to `shards`) of the group `key` of `session`."""
    digest = hashlib.sha256(f"{session}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % shards + 1


def sessions_of(desired: DesiredState) -> list[str]:
    """Every session the config has groups of, or declares, sorted."""
    return sorted({*desired.sessions, *(desired.session_of(g) for g in desired.groups)})


def several_sessions(desired: DesiredState) -> list[str]:
    """The sessions a config's groups are of, when there are more than one (else [])."""
    declared = bool(desired.sessions) or any(g.session for g in desired.groups)
    used = sorted({desired.session_of(g) for g in desired.groups}) if declared else []
    return used if len(used) > 1 else []


def select(
    desired: DesiredState, *, session: str | None, shard: tuple[int, int] | None = None
) -> tuple[DesiredState, str | None]:
    """The groups a run takes, and the session it runs as (None: the run's default).

    A config without sessions: keeps every group, whatever --session says (it names the one
    account the config manages). One with sessions: takes the groups of --session; without
    it, the config's groups must all be of one session."""
    declared = bool(desired.sessions) or any(g.session for g in desired.groups)
    groups: tuple[DesiredGroup, ...] = desired.groups
    if declared:
        known = sessions_of(desired)
        if session is None:
            used = sorted({desired.session_of(g) for g in groups})
            if len(used) > 1:
                raise UsageError(
                    f"this config manages the groups of {len(used)} sessions ({_names(used)}):"
                    " run once for each, with --session NAME (groupctl shards prints a CI"
                    " matrix of them)"
                )
            session = used[0] if used else desired.session
        elif session not in known:
            raise UsageError(
                f"--session {repr_shown(session)}: not a session of this config ({_names(known)})"
            )
        groups = tuple(g for g in groups if desired.session_of(g) == session)
    whole: tuple[DesiredGroup, ...] = ()
    if shard is not None:
        number, count = shard
        name = session or desired.session or "default"
        whole = groups
        groups = tuple(g for g in groups if shard_of(name, g.key, count) == number)
    return replace(desired, groups=groups, whole_session=whole), session


def _names(sessions: list[str]) -> str:
    return ", ".join(shown(name) for name in sessions)
