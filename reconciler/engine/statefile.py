"""What groupctl remembers between runs: people who need or got an invite, and recent leavers.

WhatsApp answers an add with 403 when the person's privacy settings forbid it: they need an
invite, which WhatsApp sends only if its answer says so (invited); otherwise apply may send
them the group's invite link by message (invite_by_message), or a person must. It answers 408
when they left the group recently. Titan shows neither afterwards: the person is simply not in
the group. Re-adding them on every run would re-send invitations and keep the plan from ever
settling, so apply records these answers in a small state file, and plan shows those people
as waiting, not as changes, until the record expires: an invite after `INVITED_WAIT` (they did
not join: try again), a recent leaver after `LEFT_WAIT` (WhatsApp lets them be added again). A
third kind: someone WhatsApp says is already in the group (409) although the participant list
shows them only by a LID nobody in the config has; they are not added again until
`HIDDEN_WAIT` has passed. A record is dropped as soon as the person is seen in the group.

Apply also records, per group, the fingerprint of the last picture it uploaded, and when.
Titan documents no way to read a group's picture: where it has none, plans compare the
config's picture with this record instead (see `reconciler.engine.planner`), and without the file
every managed picture is planned, and uploaded, once more.

Apply records, per group, when it last made the group's invite link (revoked it, or created
the group): invite_link's rotate_every is counted from there.

Apply records the key of each group it changed, by its id: a group whose key is renamed
(previously:) is then known for the same group in plans.

Apply records, too, each saved plan it applied (by its seal, with when it was made and
applied), so that a plan is applied once: see `engine.validity`.

The file sits beside the config (`.groupctl-state.json`), or where --state-file says. In CI,
keep it between runs (commit it, or cache it); without it, plan shows those people as to add
again, and apply invites them once more: noisy, never wrong.

Two runs at once (an apply, watch's heals) keep apart by the lock beside the file (`lock_for`),
held from planning to the last save. A run that keeps the file open across locks (watch) still
must not lose what another saved meanwhile: `save` reads the file again and writes what it
found with this run's changes on top, and `refresh` takes the other run's records in early.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.config.names import name_problem
from reconciler.core.groups import (
    HIDDEN,
    INVITED,
    LEFT_RECENTLY,
    LINK_SENT,
    NEEDS_INVITE,
    UploadedPicture,
    Waiting,
)
from reconciler.core.jid import Jid, jid_from_api
from reconciler.errors import FileAccessError
from reconciler.util.files import (
    check_regular_or_absent,
    check_writable,
    inside,
    read_regular_with_stat,
    replace_atomically,
)
from reconciler.util.lock import FileLock

# A state file holds a few records a person: far below this, whatever the estate.
MAX_STATE_BYTES = 64 * 1024 * 1024
INVITED_WAIT = timedelta(days=7)
LEFT_WAIT = timedelta(days=1)
HIDDEN_WAIT = timedelta(days=7)
_WAITS = {
    INVITED: INVITED_WAIT,
    NEEDS_INVITE: INVITED_WAIT,
    LINK_SENT: INVITED_WAIT,
    LEFT_RECENTLY: LEFT_WAIT,
    HIDDEN: HIDDEN_WAIT,
}
# No saved plan older than this is applied, whatever --max-plan-age says (see
# `engine.validity`): the record of an applied plan is kept as long, then dropped.
LONGEST_PLAN_AGE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class AppliedPlan:
    """A saved plan apply carried out: when it was made, and when it was applied."""

    made: datetime
    at: datetime


# One change a run made to the records, kept to be made again on top of what another run
# saved meanwhile (see `StateFile.save`).
_Change = Callable[["StateFile"], None]
# What tells one version of the file from another: a save replaces the file (a new inode).
_Version = tuple[int, int, int, int] | None


@dataclass
class StateFile:
    """The records, by group id and person. Load with `StateFile.load`, save with `save`."""

    path: Path | None = None
    records: dict[Jid, dict[Jid, Waiting]] = field(default_factory=dict)
    pictures: dict[Jid, UploadedPicture] = field(default_factory=dict)  # by group id
    applied: dict[str, AppliedPlan] = field(default_factory=dict)  # by the plan's seal
    links: dict[Jid, datetime] = field(default_factory=dict)  # invite link made, by group id
    keys: dict[Jid, str] = field(default_factory=dict)  # the config's key, by group id
    # Groups whose link an apply set out to revoke after removals, and has not yet.
    links_owed: set[Jid] = field(default_factory=set)
    _changes: list[_Change] = field(default_factory=list, repr=False, compare=False)
    _read: _Version = field(default=None, repr=False, compare=False)  # the version read

    @classmethod
    def load(cls, path: Path) -> StateFile:
        state_file = cls(path)
        state_file.refresh()
        return state_file

    def refresh(self) -> bool:
        """Read the file again if another run saved it since it was read here, and make this
        run's unsaved changes again on top. Whether any record changed."""
        if self.path is None:
            return False
        version, data = _read_file(self.path)
        if version == self._read:
            return False
        before = self._all()
        (self.records, self.pictures, self.applied, self.links, self.keys, self.links_owed) = (
            _parse(self.path, data)
        )
        for change in self._changes:
            change(self)
        self._read = version
        return self._all() != before

    def _all(self) -> tuple[Any, ...]:
        return (self.records, self.pictures, self.applied, self.links, self.keys, self.links_owed)

    def waiting(self, now: datetime) -> dict[Jid, dict[Jid, Waiting]]:
        """The records that have not expired at `now`."""
        active: dict[Jid, dict[Jid, Waiting]] = {}
        for group, people in self.records.items():
            current = {p: w for p, w in people.items() if now < w.until}
            if current:
                active[group] = current
        return active

    def record(self, group: Jid, person: Jid, reason: str, now: datetime) -> None:
        self._change(functools.partial(_put, group=group, person=person, to=_waiting(reason, now)))

    def forget(self, group: Jid, person: Jid) -> None:
        self._change(functools.partial(_put, group=group, person=person, to=None))

    def forget_group(self, group: Jid) -> None:
        self._change(functools.partial(_drop_group, group=group))

    def record_picture(self, group: Jid, fingerprint: str, now: datetime) -> None:
        """Apply uploaded the picture of this fingerprint to `group`."""
        picture = UploadedPicture(fingerprint, now)
        self._change(functools.partial(_put_picture, group=group, picture=picture))

    def record_link(self, group: Jid, now: datetime) -> None:
        """Apply made `group`'s invite link now (revoked the old one, or created the group)."""
        self._change(functools.partial(_put_link, group=group, at=now))

    def owe_link(self, group: Jid) -> None:
        """Apply is about to remove people from `group` and then revoke its link: until
        `record_link`, the revocation is owed (a run cut short in between leaves it to the
        next plan)."""
        self._change(functools.partial(_owe_link, group=group))

    def record_key(self, group: Jid, key: str) -> None:
        """Apply ran the config's group `key` on `group`."""
        self._change(functools.partial(_put_key, group=group, key=key))

    def record_applied(self, seal: str, *, made: datetime, now: datetime) -> None:
        """Apply is carrying out the saved plan of this seal, made at `made`."""
        applied = AppliedPlan(made, now)
        self._change(functools.partial(_put_applied, seal=seal, applied=applied))

    def prune(self, group: Jid, present: Iterable[Jid]) -> None:
        """Forget the people of `group` who are in it now: they wait for nothing."""
        people = self.records.get(group)
        if people:
            for person in set(people) & set(present):
                self.forget(group, person)

    def save(self, now: datetime | None = None) -> None:
        """Write the records that have not expired (all of them, without `now`): what the file
        holds now (another run may have saved since it was read), with this run's changes."""
        if self.path is None:
            return
        self.refresh()
        if now is not None:
            self.records = self.waiting(now)
            self.applied = {
                seal: applied
                for seal, applied in self.applied.items()
                if now <= applied.made + LONGEST_PLAN_AGE
            }
        data = {
            "version": 1,
            "about": "groupctl's record of invitations, recent leavers, pictures, invite links and"
            " applied plans; see docs",
            "waiting": {
                group: {
                    person: {"reason": w.reason, "since": w.since.isoformat()}
                    for person, w in sorted(people.items())
                }
                for group, people in sorted(self.records.items())
            },
            "pictures": {
                group: {"fingerprint": p.fingerprint, "uploaded": p.at.isoformat()}
                for group, p in sorted(self.pictures.items())
            },
            "applied": {
                seal: {"made": a.made.isoformat(), "applied": a.at.isoformat()}
                for seal, a in sorted(self.applied.items())
            },
            "links": {group: at.isoformat() for group, at in sorted(self.links.items())},
            "keys": dict(sorted(self.keys.items())),
            "links_owed": sorted(self.links_owed),
        }
        try:
            inside(self.path, self.path.parent)
            check_regular_or_absent(self.path)
            replace_atomically(self.path, (json.dumps(data, indent=2) + "\n").encode())
        except OSError as exc:
            raise FileAccessError(
                f"{self.path}: cannot save groupctl's state: {exc.strerror or exc}"
            ) from None
        self._changes.clear()  # in the file now: another run's save keeps them
        self._read = _version(self.path.stat())

    def check_writable(self) -> None:
        """Before a run's first change: the file can be saved (FileAccessError if not), so
        that what the run does is not lost for want of a place to write it."""
        if self.path is None:
            return
        try:
            check_writable(self.path, self.path.parent)
        except OSError as exc:
            raise FileAccessError(
                f"{self.path}: groupctl's state could not be saved here: {exc.strerror or exc}."
                " Nothing was changed"
            ) from None

    def _change(self, change: _Change) -> None:
        change(self)
        self._changes.append(change)


def lock_for(state_file: Path, *, holder: str) -> FileLock:
    """The lock that keeps two runs on this state file apart: a file beside it."""
    return FileLock(state_file.with_name(state_file.name + ".lock"), holder=holder)


def _put(state: StateFile, *, group: Jid, person: Jid, to: Waiting | None) -> None:
    people = state.records.setdefault(group, {})
    if to is not None:
        people[person] = to
        return
    people.pop(person, None)
    if not people:
        state.records.pop(group, None)


def _drop_group(state: StateFile, *, group: Jid) -> None:
    state.records.pop(group, None)
    state.pictures.pop(group, None)
    state.links.pop(group, None)
    state.keys.pop(group, None)
    state.links_owed.discard(group)


def _put_key(state: StateFile, *, group: Jid, key: str) -> None:
    state.keys[group] = key


def _put_link(state: StateFile, *, group: Jid, at: datetime) -> None:
    state.links[group] = at
    state.links_owed.discard(group)


def _owe_link(state: StateFile, *, group: Jid) -> None:
    state.links_owed.add(group)


def _put_picture(state: StateFile, *, group: Jid, picture: UploadedPicture) -> None:
    state.pictures[group] = picture


def _put_applied(state: StateFile, *, seal: str, applied: AppliedPlan) -> None:
    state.applied[seal] = applied


def _read_file(path: Path) -> tuple[_Version, bytes | None]:
    """The file's version and bytes, read together (None, None: there is no file). It must be
    a regular file, no symlink out of its directory (a pull request could make the default
    one, beside the config, a link to a file of the CI machine), of a bounded size."""
    try:
        inside(path, path.parent)
        info, data = read_regular_with_stat(path, limit=MAX_STATE_BYTES)
        return _version(info), data
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise FileAccessError(
            f"{path}: cannot read groupctl's state: {exc.strerror or exc}"
        ) from None


def _version(info: os.stat_result) -> _Version:
    return info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size


_Records = tuple[
    dict[Jid, dict[Jid, Waiting]],
    dict[Jid, UploadedPicture],
    dict[str, AppliedPlan],
    dict[Jid, datetime],
    dict[Jid, str],
    set[Jid],
]


def _parse(path: Path, data: bytes | None) -> _Records:
    if data is None:
        return {}, {}, {}, {}, {}, set()
    try:
        found = json.loads(data)
        if found.get("version") != 1:
            raise ValueError(f"version {found.get('version')!r}, where groupctl writes 1")
        records = {
            jid_from_api(group): {
                jid_from_api(person): _waiting(entry["reason"], _time(entry["since"]))
                for person, entry in people.items()
            }
            for group, people in found["waiting"].items()
        }
        pictures = {  # absent from older files, like "applied"
            jid_from_api(group): UploadedPicture(
                _fingerprint(entry["fingerprint"]), _time(entry["uploaded"])
            )
            for group, entry in found.get("pictures", {}).items()
        }
        applied = {
            _seal(seal): AppliedPlan(_time(entry["made"]), _time(entry["applied"]))
            for seal, entry in found.get("applied", {}).items()
        }
        links = {jid_from_api(group): _time(at) for group, at in found.get("links", {}).items()}
        keys = {jid_from_api(group): _key(key) for group, key in found.get("keys", {}).items()}
        owed = {jid_from_api(group) for group in found.get("links_owed", [])}
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        raise FileAccessError(
            f"{path}: not a groupctl state file ({exc}); move it away to start afresh"
        ) from None
    return records, pictures, applied, links, keys, owed


def _waiting(reason: str, since: datetime) -> Waiting:
    return Waiting(reason, since, since + _WAITS[reason])  # KeyError: not a reason we write


def _time(value: Any) -> datetime:
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:  # compared with aware times: a naive one could never be
        raise ValueError(f"{value!r} has no time zone")
    return at


def _fingerprint(value: object) -> str:
    if not (isinstance(value, str) and re.fullmatch("[0-9a-f]{16}", value)):
        raise ValueError(f"{value!r} is not a picture fingerprint")
    return value


def _key(value: object) -> str:
    if not (isinstance(value, str) and name_problem("group key", value) is None):
        raise ValueError(f"{str(value)[:80]!r} is not a group key")
    return value


def _seal(value: str) -> str:
    if not re.fullmatch("(hmac-)?sha256:[0-9a-f]{64}", value):
        raise ValueError(f"{value!r} is not the seal of a plan")
    return value


def now_utc() -> datetime:
    return datetime.now(UTC)
