"""The normalized shapes that desired state (from YAML) and live state (from Titan) share.

People are `Jid`s: a phone JID when the number is known, otherwise a LID JID, so a member from
the config and a participant from the API compare equal when they are the same person.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from reconciler.core.jid import Jid
from reconciler.errors import Location

MembersPolicy = Literal["exact", "additive"]
Ensure = Literal["present", "absent"]
AbsentAction = Literal["leave", "delete"]


@dataclass(frozen=True, slots=True)
class Member:
    """A person's standing in a group; the person is its key in `GroupState.members`.

    Most members are plain or admin with no LID to remember: `standing()` hands out one shared
    instance for each of those, which keeps a state of millions of members small.
    """

    admin: bool = False
    super_admin: bool = False
    lid: Jid | None = None  # the LID, for a member known by phone whose LID is known too


_SHARED = {
    (False, False): Member(),
    (True, False): Member(admin=True),
    (True, True): Member(admin=True, super_admin=True),
}


def standing(*, admin: bool = False, super_admin: bool = False, lid: Jid | None = None) -> Member:
    """A `Member`, shared with every other member of the same standing when it has no LID,
    and with the same person's standing in other groups when it has."""
    if lid is None:
        return _SHARED[(admin or super_admin, super_admin)]
    return _with_lid(admin or super_admin, super_admin, lid)


@functools.lru_cache(maxsize=1 << 16)
def _with_lid(admin: bool, super_admin: bool, lid: Jid) -> Member:
    return Member(admin, super_admin, lid)


@dataclass(frozen=True, slots=True)
class LocalPicture:
    """A picture file on this machine (already checked to be inside the config's directory);
    `shown` is how a plan names it: its path relative to the config's directory, where apply
    looks for it, whichever directory apply runs in."""

    path: Path
    shown: str = field(default="", compare=False)


@dataclass(frozen=True, slots=True)
class UrlPicture:
    url: str


@dataclass(frozen=True, slots=True)
class FetchedPicture:
    """A live group's picture, by its fingerprint (see `reconciler.core.pictures`)."""

    fingerprint: str


Picture = LocalPicture | UrlPicture | FetchedPicture


@dataclass(frozen=True, slots=True)
class UploadedPicture:
    """The last picture apply uploaded to a group, as the state file records it: what a plan
    goes by when Titan cannot show a group's picture (see `engine.statefile`)."""

    fingerprint: str
    at: datetime


@dataclass(frozen=True, slots=True)
class GroupState:
    """What a group looks like: the same shape for what is wanted and for what is live.

    In desired state, `description` and `picture` are None when the config leaves them alone.
    """

    subject: str
    description: str | None = None
    picture: Picture | None = None
    members: Mapping[Jid, Member] = field(default_factory=dict)
    # Who of `members` is admin, derived once: planning compares these sets, not members.
    admins: frozenset[Jid] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        admins = frozenset(jid for jid, member in self.members.items() if member.admin)
        object.__setattr__(self, "admins", admins)


@dataclass(frozen=True, slots=True)
class Policy:
    """How the reconciler may change a group."""

    members_policy: MembersPolicy = "exact"
    protect: bool = False
    ensure: Ensure = "present"
    absent_action: AbsentAction = "leave"
    max_removals: int | None = None
    max_removal_percent: float | None = None
    max_demotions: int | None = None
    max_adds: int | None = None
    # The message that sends the group's invite link to people WhatsApp will not add (their
    # privacy settings): the config's template; None when invite_by_message is off.
    invite_message: str | None = None
    min_admins: int = 0  # admins besides the session that a plan may not go below
    # The invite link (invite_link:): revoked after apply removes anyone, and every
    # `rotate_links_every` (the state file keeps when); `links_disabled`: never shown either.
    revoke_on_removal: bool = False
    rotate_links_every: timedelta | None = None
    links_disabled: bool = False


@dataclass(frozen=True, slots=True)
class DesiredGroup:
    """A group entry of the config: its stable key, optional id binding, state and policy."""

    key: str
    id: Jid | None
    state: GroupState
    policy: Policy = field(default_factory=Policy)
    source: Location | None = None  # where the entry is in the config
    previously: tuple[str, ...] = ()  # the keys it had before (previously:), latest last
    # The config's policy: rules it breaks (each said with its place): plan refuses it.
    broken_rules: tuple[str, ...] = ()
    never_remove: frozenset[Jid] = frozenset()  # people a plan may not remove (policy:)
    session: str | None = None  # the session (sessions:) of its account; None: the config's


@dataclass(frozen=True, slots=True)
class DesiredState:
    """The whole config, resolved: groups, and the directory that names people."""

    groups: tuple[DesiredGroup, ...]
    directory: Mapping[Jid, str] = field(default_factory=dict)  # phone or LID JID -> name
    session: str | None = None
    people: int = 0
    teams: int = 0
    rules: tuple[str, ...] = ()  # the policy: rules, each as a line of JSON (for diffs)
    # sessions: by name, each account's own pace of writes (None: the run's)
    sessions: Mapping[str, str | None] = field(default_factory=dict)
    # sessions: by name, each account's own brakes (limits:), by Brakes field: max_removals...
    session_brakes: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # A shard's run (--shard K/N): every group of its session, in the config's order. They
    # are matched together, as in a run of them all, so that each live group is the same
    # entry's in every shard and none of another shard's counts as unmanaged; only `groups`
    # are planned.
    whole_session: tuple[DesiredGroup, ...] = ()

    def session_of(self, group: DesiredGroup) -> str:
        """The session whose account has `group`."""
        return group.session or self.session or "default"


INVITED = "invited"  # WhatsApp said it sent them an invitation
NEEDS_INVITE = "needs invite"  # WhatsApp would not add them and sent nothing
LINK_SENT = "invite link sent"  # groupctl sent them the group's invite link by message
LEFT_RECENTLY = "left recently"
HIDDEN = "in the group under a LID"


@dataclass(frozen=True, slots=True)
class Waiting:
    """Someone the plan must not add again yet, why, and until when (see `engine.statefile`)."""

    reason: str  # INVITED, NEEDS_INVITE, LINK_SENT, LEFT_RECENTLY or HIDDEN
    since: datetime
    until: datetime

    def describe(self) -> str:
        when, until = (t.strftime("%Y-%m-%d %H:%M UTC") for t in (self.since, self.until))
        if self.reason == INVITED:
            return (
                f"invited on {when} (privacy settings); waiting for them to accept: not"
                f" invited again before {until}"
            )
        if self.reason == NEEDS_INVITE:
            return (
                f"needs an invite since {when}: their privacy settings forbid being added, and"
                " WhatsApp sent them nothing. Send them the group's invite link (in the report"
                f" of the apply that tried; anyone with it can join); tried again from {until}"
            )
        if self.reason == LINK_SENT:
            return (
                f"sent the group's invite link by message on {when} (privacy settings); waiting"
                f" for them to join: not sent again before {until}"
            )
        if self.reason == HIDDEN:
            return (
                f"already in the group on {when}, though WhatsApp shows them only by a"
                f" LID; not added again before {until}"
            )
        return (
            f"left on their own shortly before {when}; WhatsApp refuses to add them back"
            f" yet: added again from {until}"
        )


@dataclass(frozen=True, slots=True)
class ListedGroup:
    """A group as the list of the session's groups shows it."""

    id: Jid
    subject: str


@dataclass(frozen=True, slots=True)
class LiveGroup:
    """A live group in detail. `state.picture` is the live picture only when
    `picture_known` (it is fetched for groups whose picture the config manages).

    Titan documents no way to read a group's picture: when it has none, `picture_unreadable`
    is set instead, and `uploaded` is the state file's record of the last picture apply
    uploaded to the group (None: no record), which stands in for the live picture."""

    id: Jid
    state: GroupState
    picture_known: bool = False
    picture_unreadable: bool = False
    uploaded: UploadedPicture | None = None


@dataclass(frozen=True, slots=True)
class LiveState:
    """What Titan says now: who the session is, its groups, details of the managed ones, and
    the fingerprints of the pictures the config asks for."""

    me: Jid
    me_lid: Jid | None
    listed: tuple[ListedGroup, ...]
    groups: Mapping[Jid, LiveGroup]
    pictures: Mapping[Picture, str] = field(default_factory=dict)
    picture_problems: Mapping[Picture, str] = field(default_factory=dict)  # unreadable ones


def same_subject(subject: str) -> str:
    """A subject as compared: Unicode NFC, so that "é" typed as one character or as "e" and
    a combining accent is one subject, as WhatsApp shows it."""
    return unicodedata.normalize("NFC", subject)
