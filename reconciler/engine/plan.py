"""A plan as data: small typed actions per group, a summary, and snapshots of the live groups it
was made from (the plan file, sealed and checked, is `engine.planfile`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from reconciler.core.groups import FetchedPicture, LiveGroup
from reconciler.core.invites import check_template
from reconciler.core.jid import Jid, jid_from_api
from reconciler.util.untrusted import repr_shown
from reconciler.util.wording import count


class Kind(StrEnum):
    """What an action does. The order here is the order actions run in within a group."""

    CREATE = "create"
    SUBJECT = "subject"
    DESCRIPTION = "description"
    PICTURE = "picture"
    ADD = "add"
    PROMOTE = "promote"
    DEMOTE = "demote"
    REMOVE = "remove"
    REVOKE_LINK = "revoke_link"  # after removals: those removed cannot come back by the link
    LEAVE = "leave"
    DELETE = "delete"

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {kind: index for index, kind in enumerate(Kind)}
# Why a plan revokes a group's invite link: apply removes someone (invite_link's
# revoke_on_removal, or disabled), or its rotate_every is due.
REVOKE_REASONS = ("removal", "rotation", "owed")
DESTRUCTIVE = frozenset({Kind.REMOVE, Kind.DEMOTE, Kind.LEAVE, Kind.DELETE})
PARTICIPANT_KINDS = frozenset({Kind.CREATE, Kind.ADD, Kind.PROMOTE, Kind.DEMOTE, Kind.REMOVE})


@dataclass(frozen=True, slots=True)
class Action:
    """One call to make. `members`: who (create, add, promote, demote, remove; at most 256).
    `old`/`new`: subject or description before and after; picture: `new` is the source;
    revoke_link: `new` is why (`REVOKE_REASONS`), `old` when it was last revoked, if known."""

    kind: Kind
    members: tuple[Jid, ...] = ()
    old: str | None = None
    new: str | None = None
    # A picture's fingerprint when planned: apply uploads the file only if it still matches.
    fingerprint: str | None = None
    # Members who have two addresses, with both in the order to use them (see `addresses`).
    via: tuple[tuple[Jid, tuple[Jid, ...]], ...] = ()

    def addresses(self) -> dict[Jid, tuple[Jid, ...]]:
        """Each member's addresses, first the one to act on. A member the live group shows
        with a LID is removed, promoted and demoted by that LID (LID-keyed groups find them by
        nothing else), then by number; someone else by the address the config names them by,
        then the LID it gives them. All of them recognize the person when the group is re-read."""
        known = dict(self.via)
        return {member: known.get(member, (member,)) for member in self.members}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind.value}
        if self.members:
            data["members"] = list(self.members)
        if self.via:
            data["via"] = {member: list(addresses) for member, addresses in self.via}
        if self.old is not None:
            data["old"] = self.old
        if self.new is not None:
            data["new"] = self.new
        if self.fingerprint is not None:
            data["fingerprint"] = self.fingerprint
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Action:
        members = tuple(jid_from_api(m) for m in data.get("members", ()))
        via = tuple(
            (jid_from_api(member), tuple(jid_from_api(a) for a in addresses))
            for member, addresses in data.get("via", {}).items()
        )
        for member, addresses in via:
            others = [a for a in addresses if a != member]
            if member not in members or len(addresses) != 2 or len(others) != 1:
                raise ValueError(f"via: {member} must be a member, with one other address")
            if not others[0].is_lid:
                raise ValueError(f"via: the other address of {member} must be a LID")
        kind = Kind(data["kind"])
        if kind == Kind.REVOKE_LINK:
            if data.get("new") not in REVOKE_REASONS:
                raise ValueError(f"revoke_link: {data.get('new')!r} is not a reason to revoke")
            if data.get("old") is not None:
                datetime.fromisoformat(data["old"])  # a ValueError: the plan file is refused
            if data.get("fingerprint") is not None or data.get("via"):
                raise ValueError("revoke_link: only the people the new link goes to")
        return cls(
            kind=kind,
            members=members,
            old=data.get("old"),
            new=data.get("new"),
            fingerprint=data.get("fingerprint"),
            via=via,
        )


def why_revoked(action: Action) -> str:
    """Why a revoke_link action revokes the link, in words (from plain data only)."""
    if action.new == "removal":
        return "after the removals, so that nobody removed walks back in by it"
    if action.new == "owed":
        return "an earlier apply removed people from the group and did not get to revoke it"
    made = action.old
    since = f"made {made[:10]}" if made else "no record of when it was made"
    return f"its rotate_every is due ({since})"


@dataclass(frozen=True, slots=True)
class GroupPlan:
    """What to do to one group of the config, or why nothing may be done to it."""

    key: str
    subject: str
    group_id: Jid | None  # None: the group is to be created
    actions: tuple[Action, ...] = ()
    errors: tuple[str, ...] = ()  # rules the config would break: the group is left alone
    notes: tuple[str, ...] = ()  # worth knowing, changes nothing (kept unresolved members...)
    # The live group the actions were computed from; its snapshot is made only when asked
    # for (a plan file), since most runs never need it. A plan read from a file has only
    # the snapshot it was saved with.
    live: LiveGroup | None = field(default=None, compare=False, repr=False)
    saved_snapshot: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    members_before: int = 0
    max_removals: int | None = None  # the group's own safety limits, from the config
    max_removal_percent: float | None = None
    max_demotions: int | None = None
    max_adds: int | None = None
    # The message that sends the invite link to people WhatsApp will not add (the config's
    # invite_message), or None: apply then only reports the link.
    invite_message: str | None = None
    links_disabled: bool = False  # invite_link: disabled: apply never reads or shows the link

    @property
    def snapshot(self) -> Mapping[str, Any] | None:
        if self.saved_snapshot is not None:
            return self.saved_snapshot
        return snapshot_of(self.live) if self.live is not None else None

    def admins_before(self) -> frozenset[str]:
        """Who was an admin of the live group the plan was computed from (by phone JID and
        LID): a removal of one of them is shown as an admin's."""
        if self.live is not None:
            members = self.live.state.members.items()
            return frozenset(
                address
                for jid, member in members
                if member.admin
                for address in (jid, member.lid)
                if address
            )
        rows = (self.saved_snapshot or {}).get("members", ())
        return frozenset(
            address
            for row in rows
            if len(row) > 2 and row[2] in ("admin", "superadmin")
            for address in row[:2]
            if address
        )

    @property
    def fingerprint(self) -> str | None:
        snapshot = self.snapshot
        return snapshot_fingerprint(snapshot) if snapshot is not None else None

    def count(self, kind: Kind) -> int:
        """Members an action kind touches (or 1 per action for the others)."""
        return sum(
            len(a.members) if a.kind in PARTICIPANT_KINDS - {Kind.CREATE} else 1
            for a in self.actions
            if a.kind == kind
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "subject": self.subject,
            "group_id": self.group_id,
            "actions": [action.to_json() for action in self.actions],
            "errors": list(self.errors),
            "notes": list(self.notes),
            "snapshot": self.snapshot,
            "fingerprint": self.fingerprint,
            "members_before": self.members_before,
            "max_removals": self.max_removals,
            "max_removal_percent": self.max_removal_percent,
        }
        if self.invite_message is not None:
            data["invite_message"] = self.invite_message
        if self.links_disabled:
            data["links_disabled"] = True
        for limit in ("max_demotions", "max_adds"):  # newer than the two above: when set
            if getattr(self, limit) is not None:
                data[limit] = getattr(self, limit)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GroupPlan:
        actions = tuple(Action.from_json(a) for a in data["actions"])
        _check_live_addresses(actions, data["snapshot"])
        creates = [index for index, action in enumerate(actions) if action.kind == Kind.CREATE]
        new = not data["group_id"]
        if creates not in ([], [0]) or (creates and not new) or (new and actions and not creates):
            raise ValueError("a group to create is created first, and only a group with no id")
        invite_message = data.get("invite_message")
        if invite_message is not None:
            check_template(invite_message)  # a ValueError: the plan file is refused
        return cls(
            key=data["key"],
            subject=data["subject"],
            group_id=jid_from_api(data["group_id"]) if data["group_id"] else None,
            actions=actions,
            errors=tuple(data["errors"]),
            notes=tuple(data["notes"]),
            saved_snapshot=data["snapshot"],
            members_before=data["members_before"],
            max_removals=data["max_removals"],
            max_removal_percent=data["max_removal_percent"],
            max_demotions=data.get("max_demotions"),
            max_adds=data.get("max_adds"),
            invite_message=invite_message,
            links_disabled=data.get("links_disabled") is True,
        )


def _check_live_addresses(actions: tuple[Action, ...], snapshot: Mapping[str, Any] | None) -> None:
    """A plan acts on a live member by the LID the live group showed, and by no other: a file
    whose actions would act on someone else than the member they name is refused."""
    shown = {
        jid_from_api(entry[0]): entry[1]
        for entry in (snapshot or {}).get("members", ())
        if isinstance(entry, list) and len(entry) > 1 and entry[0] and entry[1]
    }
    for action in actions:
        for member, addresses in action.via:
            lid = shown.get(member)
            if lid is not None:
                if jid_from_api(lid) not in addresses:
                    raise ValueError(f"via: {member} is {lid} in the group the plan was made from")
            elif action.kind in (Kind.REMOVE, Kind.DEMOTE):
                # Only live members are removed or demoted: another address than the one the
                # live group showed would act on someone else.
                raise ValueError(f"via: {member} has no LID in the group the plan was made from")
            elif addresses[0] != member:
                # Someone not (yet) shown with a LID is acted on as themselves first.
                raise ValueError(f"via: {member} must be acted on as {member} first")


@dataclass(frozen=True, slots=True)
class Summary:
    create: int = 0
    update: int = 0
    leave: int = 0
    delete: int = 0
    add: int = 0
    remove: int = 0
    promote: int = 0
    demote: int = 0
    revoke_link: int = 0
    refused: int = 0
    unmanaged: int = 0

    def counts(self) -> dict[str, int]:
        """Each figure by its name (for the JSON plan): actions by kind, groups refused and
        groups not managed."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def sentence(self) -> str:
        """`Plan: 1 to create, 2 to update, 4 members to add, 1 to remove. 12 unmanaged.`"""
        parts = [
            f"{self.create} to create" if self.create else "",
            f"{self.update} to update" if self.update else "",
            f"{self.leave} to leave" if self.leave else "",
            f"{self.delete} to delete" if self.delete else "",
            count(self.add, "member") + " to add" if self.add else "",
            f"{self.remove} to remove" if self.remove else "",
            count(self.promote, "promotion") if self.promote else "",
            count(self.demote, "demotion") if self.demote else "",
            count(self.revoke_link, "invite link") + " to revoke" if self.revoke_link else "",
        ]
        changes = ", ".join(part for part in parts if part) or "no changes"
        tail = [
            f"{count(self.refused, 'group')} refused" if self.refused else "",
            f"{self.unmanaged} unmanaged" if self.unmanaged else "",
        ]
        return f"Plan: {changes}." + "".join(f" {part}." for part in tail if part)


@dataclass(frozen=True, slots=True)
class Plan:
    """Every group of the config that needs something done, or was refused."""

    groups: tuple[GroupPlan, ...]
    unmanaged: int = 0
    session: str = "default"
    api: str = ""
    directory: Mapping[Jid, str] = field(default_factory=dict)  # people's names, for reading
    # The config it was planned from, as given to -f: where apply finds pictures (relative to
    # it), the state file and the entries --write-ids edits.
    config: str = ""
    # The safety brakes' verdict (`reconciler.engine.safety.assess`): why they stop this plan, and
    # whether --force lifted them.
    brakes: tuple[str, ...] = ()
    forced: bool = False
    # When it was made (None: by code that is not a run), and the config files it was made
    # from, by name with their SHA-256: a saved plan is applied only while it is recent and
    # the config is still what it was made from (`reconciler.engine.validity`).
    created: datetime | None = None
    config_files: Mapping[str, str] = field(default_factory=dict)
    # The seal of the plan file it was read from (None: made in this run), by which the state
    # file records that it was applied.
    checksum: str | None = None
    shard: str = ""  # "K/N": the plan of one shard of the session's groups (--shard)
    # The brakes it was assessed under, by Brakes field (empty: not assessed): the shards of
    # a session are assessed together by them again (`safety.assess_together`).
    limits: Mapping[str, float] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """Whose plan it is: `session 'sales'`, `session 'sales', shard 2/4`."""
        return f"session {repr_shown(self.session)}" + (
            f", shard {self.shard}" if self.shard else ""
        )

    @property
    def summary(self) -> Summary:
        totals: dict[str, int] = {}
        for group in self.groups:
            kinds = {action.kind for action in group.actions}
            if group.errors:
                totals["refused"] = totals.get("refused", 0) + 1
            elif Kind.CREATE in kinds:
                totals["create"] = totals.get("create", 0) + 1
            elif kinds & {Kind.LEAVE, Kind.DELETE}:
                which = "delete" if Kind.DELETE in kinds else "leave"
                totals[which] = totals.get(which, 0) + 1
            elif kinds:
                totals["update"] = totals.get("update", 0) + 1
            for kind in (Kind.ADD, Kind.REMOVE, Kind.PROMOTE, Kind.DEMOTE, Kind.REVOKE_LINK):
                totals[kind.value] = totals.get(kind.value, 0) + group.count(kind)
            if Kind.CREATE in kinds:
                created = next(a for a in group.actions if a.kind == Kind.CREATE)
                totals["add"] = totals.get("add", 0) + len(created.members)
        return Summary(unmanaged=self.unmanaged, **totals)

    @property
    def has_changes(self) -> bool:
        return any(group.actions for group in self.groups)

    @property
    def is_destructive(self) -> bool:
        """Whether it removes, demotes, leaves or deletes anything."""
        return any(a.kind in DESTRUCTIVE for g in self.groups for a in g.actions)

    @property
    def stopped_by_brakes(self) -> bool:
        return bool(self.brakes) and not self.forced

    @property
    def refused(self) -> tuple[GroupPlan, ...]:
        return tuple(group for group in self.groups if group.errors)

    def name(self, jid: Jid) -> str:
        """`alice (+1 415-555-0101)`, or the number alone for people the config has no name for."""
        shown = jid.display()
        name = self.directory.get(jid)
        return f"{name} ({shown})" if name else shown


def snapshot_of(live: LiveGroup) -> dict[str, Any]:
    """A live group as plain data: what a plan was computed from, to detect drift later."""
    state = live.state
    picture = state.picture.fingerprint if isinstance(state.picture, FetchedPicture) else None
    if live.picture_unreadable:  # what the plan went by instead: the state file's record
        uploaded = live.uploaded
        picture = "unreadable, " + (
            f"last uploaded {uploaded.fingerprint}" if uploaded else "no upload recorded"
        )
    elif not live.picture_known:
        picture = "not read"
    return {
        "id": live.id,
        "subject": state.subject,
        "description": state.description or "",
        "picture": picture,
        "members": sorted(
            [
                jid,
                member.lid,
                "superadmin" if member.super_admin else "admin" if member.admin else "member",
            ]
            for jid, member in state.members.items()
        ),
    }


def snapshot_fingerprint(snapshot: Mapping[str, Any]) -> str:
    """A short hash of a live group's snapshot: equal snapshots, equal fingerprints."""
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]
