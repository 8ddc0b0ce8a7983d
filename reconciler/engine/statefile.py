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

The file sits beside the config (`.groupctl-state.json`), or where --state-file says. In CI,
keep it between runs (commit it, or cache it); without it, plan shows those people as to add
again, and apply invites them once more: noisy, never wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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
from reconciler.util.files import replace_atomically

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


@dataclass
class StateFile:
    """The records, by group id and person. Load with `StateFile.load`, save with `save`."""

    path: Path | None = None
    records: dict[Jid, dict[Jid, Waiting]] = field(default_factory=dict)
    pictures: dict[Jid, UploadedPicture] = field(default_factory=dict)  # by group id

    @classmethod
    def load(cls, path: Path) -> StateFile:
        state_file = cls(path)
        if not path.exists():
            return state_file
        try:
            data = json.loads(path.read_text())
            for group, people in data["waiting"].items():
                state_file.records[jid_from_api(group)] = {
                    jid_from_api(person): _waiting(
                        entry["reason"], datetime.fromisoformat(entry["since"])
                    )
                    for person, entry in people.items()
                }
            for group, entry in data.get("pictures", {}).items():  # absent from older files
                state_file.pictures[jid_from_api(group)] = UploadedPicture(
                    _fingerprint(entry["fingerprint"]), datetime.fromisoformat(entry["uploaded"])
                )
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise FileAccessError(
                f"{path}: not a groupctl state file ({exc}); move it away to start afresh"
            ) from None
        return state_file

    def waiting(self, now: datetime) -> dict[Jid, dict[Jid, Waiting]]:
        """The records that have not expired at `now`."""
        active: dict[Jid, dict[Jid, Waiting]] = {}
        for group, people in self.records.items():
            current = {p: w for p, w in people.items() if now < w.until}
            if current:
                active[group] = current
        return active

    def record(self, group: Jid, person: Jid, reason: str, now: datetime) -> None:
        self.records.setdefault(group, {})[person] = _waiting(reason, now)

    def forget(self, group: Jid, person: Jid) -> None:
        people = self.records.get(group, {})
        people.pop(person, None)
        if not people:
            self.records.pop(group, None)

    def forget_group(self, group: Jid) -> None:
        self.records.pop(group, None)
        self.pictures.pop(group, None)

    def record_picture(self, group: Jid, fingerprint: str, now: datetime) -> None:
        """Apply uploaded the picture of this fingerprint to `group`."""
        self.pictures[group] = UploadedPicture(fingerprint, now)

    def prune(self, group: Jid, present: Iterable[Jid]) -> None:
        """Forget the people of `group` who are in it now: they wait for nothing."""
        people = self.records.get(group)
        if people:
            for person in set(people) & set(present):
                self.forget(group, person)

    def save(self, now: datetime | None = None) -> None:
        """Write the records that have not expired (all of them, without `now`)."""
        if self.path is None:
            return
        if now is not None:
            self.records = self.waiting(now)
        data = {
            "version": 1,
            "about": "groupctl's record of invitations, recent leavers and pictures; see docs",
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
        }
        try:
            replace_atomically(self.path, (json.dumps(data, indent=2) + "\n").encode())
        except OSError as exc:
            raise FileAccessError(
                f"{self.path}: cannot save groupctl's state: {exc.strerror}"
            ) from None


def _waiting(reason: str, since: datetime) -> Waiting:
    return Waiting(reason, since, since + _WAITS[reason])  # KeyError: not a reason we write


def _fingerprint(value: object) -> str:
    if not (isinstance(value, str) and re.fullmatch("[0-9a-f]{16}", value)):
        raise ValueError(f"{value!r} is not a picture fingerprint")
    return value


def now_utc() -> datetime:
    return datetime.now(UTC)
