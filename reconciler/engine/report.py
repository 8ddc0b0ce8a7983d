"""What apply did: an outcome for every person and setting of every group, and the summary.

`Outcome` is one person's (or one setting's) fate in one action; a `Step` records it, with
whether the group, re-read afterwards, shows it (`verified`); `GroupReport` and `ApplyReport`
gather them, with JSON for `--format json`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.core.invites import LINK_WARNING
from reconciler.core.jid import Jid
from reconciler.engine.plan import Kind
from reconciler.util.wording import count


class Outcome(StrEnum):
    """What became of one person (or one setting) in one action."""

    DONE = "done"
    ALREADY = "already done"  # 409 on add/promote/demote, 404 on remove: nothing to change
    # 403 on add, and an invite was sent: by WhatsApp (its answer says so), or by groupctl
    # (the group's invite link, by message).
    INVITED = "invited"
    NEEDS_INVITE = "needs invite"  # 403 on add: privacy settings; nobody has invited them yet
    LEFT_RECENTLY = "left recently"  # 408 on add: WhatsApp will not re-add them yet
    FAILED = "failed"
    UNKNOWN = "outcome unknown"  # the API took the call but did not say what it did
    SKIPPED = "skipped"  # not attempted: an earlier step of the group failed or did not add them


# Outcomes that leave the person out of the group on purpose, for now: nothing to verify.
WAITING = frozenset({Outcome.INVITED, Outcome.NEEDS_INVITE, Outcome.LEFT_RECENTLY})
UNCHECKED = WAITING | {Outcome.SKIPPED}
SUCCESSES = frozenset(
    {Outcome.DONE, Outcome.ALREADY, Outcome.INVITED, Outcome.NEEDS_INVITE, Outcome.LEFT_RECENTLY}
)
ADDS = frozenset({Kind.ADD, Kind.CREATE})
# The detail of a person counted as done because the API's answer said nothing per person.
NO_PER_PERSON_ANSWER = "no per-person answer"


@dataclass(frozen=True, slots=True)
class Step:
    """One person's (or one setting's) outcome in one action of one group."""

    group: str  # the config's key
    kind: Kind
    outcome: Outcome
    person: Jid | None = None
    detail: str = ""
    # Whether the group, re-read after its changes, shows what the plan meant: None where
    # nothing was checked (not attempted, the re-read failed, or the person cannot be told
    # apart from someone WhatsApp shows by another address).
    verified: bool | None = None
    invite_link: str | None = None  # for someone who needs an invite: the group's link

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "group": self.group,
            "action": self.kind.value,
            "outcome": self.outcome.value,
            "verified": self.verified,
        }
        if self.person is not None:
            data["person"] = self.person
        if self.detail:
            data["detail"] = self.detail
        if self.invite_link is not None:
            data["invite_link"] = self.invite_link
        return data


@dataclass
class GroupReport:
    key: str
    subject: str
    group_id: Jid | None
    created: Jid | None = None  # the id of a group this run created
    steps: list[Step] = field(default_factory=list)
    error: str | None = None  # the failure that stopped the group
    reread: bool = False  # re-read after its changes, its steps checked against it
    reread_error: str | None = None  # why it could not be re-read (its steps are unverified)
    invite_link: str | None = None  # read when someone needed an invite
    interrupted: bool = False  # stopped by a signal before it was done: `error` says so

    @property
    def ok(self) -> bool:
        return self.error is None and all(step.outcome in SUCCESSES for step in self.steps)

    @property
    def attempted(self) -> bool:
        """Whether any of its actions was tried (one interrupted before it started was not)."""
        return any(step.outcome != Outcome.SKIPPED for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "subject": self.subject,
            "group_id": self.group_id,
            "created": self.created,
            "ok": self.ok,
            "error": self.error,
            "interrupted": self.interrupted,
            "reread": self.reread,
            "reread_error": self.reread_error,
            "steps": [step.to_json() for step in self.steps],
        }
        if self.invite_link is not None:
            data["invite_link"] = self.invite_link
            data["invite_link_warning"] = LINK_WARNING
        return data


@dataclass
class ApplyReport:
    groups: list[GroupReport] = field(default_factory=list)
    # Why the whole run stopped early (the session is not connected, or banned), if it did.
    halted: str | None = None
    interrupted: str | None = None  # why it was told to stop (a signal), if it was
    state_error: str | None = None  # why the state file could not be saved, if it could not

    @property
    def ok(self) -> bool:
        return (
            self.halted is None
            and self.interrupted is None
            and self.state_error is None
            and all(group.ok for group in self.groups)
        )

    def count(self, outcome: Outcome, kinds: frozenset[Kind] | None = None) -> int:
        """People with `outcome` (in actions of `kinds`)."""
        return sum(
            1
            for g in self.groups
            for s in g.steps
            if s.person is not None and s.outcome == outcome and (kinds is None or s.kind in kinds)
        )

    def counts(self) -> dict[str, int]:
        """The figures of `summary()`, by name (for the JSON report)."""
        done = sum(1 for g in self.groups if g.ok)
        stopped = [g for g in self.groups if not g.ok and g.interrupted]
        part_way = sum(1 for g in stopped if g.attempted)
        return {
            "groups": len(self.groups),
            "done": done,
            "failed": len(self.groups) - done - len(stopped),
            "stopped_part_way": part_way,
            "not_attempted": len(stopped) - part_way,
            "added": self.count(Outcome.DONE, ADDS),
            "invited": self.count(Outcome.INVITED, ADDS),
            "needing_an_invite": self.count(Outcome.NEEDS_INVITE, ADDS),
            "left_recently": self.count(Outcome.LEFT_RECENTLY, ADDS),
            "promoted": self.count(Outcome.DONE, frozenset({Kind.PROMOTE})),
            "demoted": self.count(Outcome.DONE, frozenset({Kind.DEMOTE})),
            "removed": self.count(Outcome.DONE, frozenset({Kind.REMOVE})),
            "people_failed": self.count(Outcome.FAILED),
            "outcome_unknown": self.count(Outcome.UNKNOWN),
            "skipped": self.count(Outcome.SKIPPED),
            "links_revoked": sum(
                1
                for g in self.groups
                for s in g.steps
                if s.kind == Kind.REVOKE_LINK and s.outcome == Outcome.DONE
            ),
        }

    def summary(self) -> str:
        """`Apply: 5 groups, 4 done, 1 failed. People: 3 added, 1 invited, 2 removed.`"""
        n = self.counts()
        people = [
            (n["added"], "added"),
            (n["invited"], "invited"),
            (n["needing_an_invite"], "needing an invite"),
            (n["left_recently"], "left recently, not re-added"),
            (n["promoted"], "promoted"),
            (n["demoted"], "demoted"),
            (n["removed"], "removed"),
            (n["people_failed"], "failed"),
            (n["outcome_unknown"], "outcome unknown"),
            (n["skipped"], "skipped"),
        ]
        shown = ", ".join(f"{k} {what}" for k, what in people if k) or "no changes to people"
        return (
            f"Apply: {count(n['groups'], 'group')}, {n['done']} done"
            + (f", {n['failed']} failed" if n["failed"] else "")
            + (f", {n['stopped_part_way']} stopped part-way" if n["stopped_part_way"] else "")
            + (f", {n['not_attempted']} not attempted" if n["not_attempted"] else "")
            + f". People: {shown}."
            + (f" Invite links revoked: {n['links_revoked']}." if n["links_revoked"] else "")
            + self._rereads()
            + (f"\nApply stopped: {self.halted}" if self.halted else "")
            + (f"\n{self._interrupted()}" if self.interrupted else "")
            + (f"\nState file not saved: {self.state_error}" if self.state_error else "")
        )

    def _interrupted(self) -> str:
        """`Apply interrupted (SIGINT): 1 group with an outcome unknown. The next plan ...`"""
        unknown = sum(1 for g in self.groups if any(s.outcome == Outcome.UNKNOWN for s in g.steps))
        said = f": {count(unknown, 'group')} with an outcome unknown" if unknown else ""
        return f"Apply {self.interrupted}{said}. The next plan shows what is left."

    def _rereads(self) -> str:
        """` Re-read: 4 of 5 people as planned; 1 group not re-read.` (empty: none re-read)"""
        checked = [s for g in self.groups for s in g.steps if s.person and s.verified is not None]
        unread = sum(1 for g in self.groups if g.reread_error is not None)
        parts = [
            f"{sum(1 for s in checked if s.verified)} of {count(len(checked), 'person', 'people')}"
            " as planned"
            if checked
            else "",
            f"{count(unread, 'group')} not re-read" if unread else "",
        ]
        shown = "; ".join(part for part in parts if part)
        return f" Re-read: {shown}." if shown else ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "halted": self.halted,
            "interrupted": self.interrupted,
            "state_error": self.state_error,
            "summary": self.summary(),
            "counts": self.counts(),
            "groups": [group.to_json() for group in self.groups],
        }
