"""The simulated world over a `WorldState`: pure, no I/O, no clock of its own.

`World` indexes the state and answers what WhatsApp would look up before acting: who an
account or a number is, which groups a session may see, whose number a viewer sees, who is an
admin. It keeps the sessions' states, and queues in `outbox` the webhook events a change causes,
for the HTTP layer to deliver. The rules that change groups are in `reconciler.sim.rules`; they
raise `SimError` with the HTTP status and message Titan would send.
"""

from __future__ import annotations

import base64
import secrets
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from reconciler.sim.state import (
    Account,
    Group,
    Person,
    Role,
    SessionStatus,
    StatusReason,
    WorldState,
    derived_lid,
)

_INVITE_ALPHABET = string.ascii_letters + string.digits


class SimError(Exception):
    """A refusal, as Titan sends it: HTTP status and error text."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True, slots=True)
class Event:
    """A webhook event: `kind` is "group.update", "group.participant" or "session.status",
    with the payload each concerned session receives (people appear to each as that session
    sees them)."""

    kind: str
    payloads: dict[str, dict[str, Any]]


@dataclass(slots=True)
class World:
    """The world and its indexes. Build with `World(state)`; change it only through its
    methods and the rules in `reconciler.sim.rules`, which keep the indexes right."""

    state: WorldState
    outbox: list[Event] = field(default_factory=list)
    _people: dict[str, Person] = field(default_factory=dict)
    _by_lid: dict[str, Person] = field(default_factory=dict)
    _groups: dict[str, Group] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for person in self.state.people:
            self._index(person)
        for account in self.state.accounts:
            self.person(account.phone)
        for group in self.state.groups:
            self._groups[group.id] = group
            for phone in group.participants:
                self.person(phone)

    # -- sessions --------------------------------------------------------------------------

    def account(self, session: str) -> Account:
        for account in self.state.accounts:
            if account.session == session:
                return account
        raise SimError(404, f"session {session!r} not found")

    def connected_account(self, session: str) -> Account:
        account = self.account(session)
        if account.status != "CONNECTED":
            # Titan documents no code for this; 503 is the nearest in its table.
            reason = f", {account.status_reason}" if account.status_reason else ""
            raise SimError(
                503, f"session {session!r} is not connected (status: {account.status}{reason})"
            )
        return account

    def count_write(self, account: Account) -> None:
        """One more write done by `account`: the one that exhausts `writes_until_ban` gets
        the account banned, and every later call of its session finds it disconnected."""
        if account.writes_until_ban is None:
            return
        account.writes_until_ban -= 1
        if account.writes_until_ban <= 0:
            account.writes_until_ban = None
            self.set_status(account, "DISCONNECTED", "TEMPORARY_BAN")

    def set_status(
        self, account: Account, status: SessionStatus, reason: StatusReason | None
    ) -> None:
        """The account's session changes state (Titan tells its webhooks: `session.status`)."""
        if (account.status, account.status_reason) == (status, reason):
            return
        account.status, account.status_reason = status, reason
        payload = {"status": status, "statusReason": reason}
        self.outbox.append(Event("session.status", {account.session: payload}))

    # -- people ----------------------------------------------------------------------------

    def person(self, phone: str) -> Person:
        """The person with this E.164 number; any valid number is on WhatsApp, with defaults.

        People the world file does not list are indexed, not written back: their LID is derived
        from the number, so they come back the same after a reload.
        """
        found = self._people.get(phone)
        if found is None:
            found = Person(phone=phone)
            self._index(found)
        return found

    def person_with_lid(self, lid: str) -> Person | None:
        """The person whose LID (the digits) this is, or None: a LID is nobody's by default."""
        return self._by_lid.get(lid)

    def phone_visible(self, viewer: Account, group: Group, person: Person) -> bool:
        """Whether `viewer` sees the number of `person` in `group` (else only the LID)."""
        if person.phone_visible_to == "everyone" or person.phone == viewer.phone:
            return True
        if person.phone in viewer.contacts:
            return True
        return person.phone_visible_to == "admins" and is_admin(group, viewer.phone)

    def participants_seen_by(
        self, viewer: Account, group: Group
    ) -> Iterator[tuple[Person, Role, bool]]:
        """Each participant of `group` in joining order, with their role and whether `viewer`
        sees their number (as `phone_visible` says, the viewer's part worked out once)."""
        viewer_is_admin = is_admin(group, viewer.phone)
        contacts = frozenset(viewer.contacts)
        for phone, role in group.participants.items():
            person = self.person(phone)
            rule = person.phone_visible_to
            visible = (
                rule == "everyone"
                or phone == viewer.phone
                or phone in contacts
                or (rule == "admins" and viewer_is_admin)
            )
            yield person, role, visible

    # -- groups ----------------------------------------------------------------------------

    def groups_of(self, account: Account) -> list[Group]:
        return [g for g in self.state.groups if account.phone in g.participants]

    def group(self, account: Account, group_id: str) -> Group:
        """A group the account is in."""
        group = self._groups.get(group_id)
        if group is None:
            raise SimError(404, f"group {group_id} not found")
        if account.phone not in group.participants:
            raise SimError(403, f"you are not a participant of group {group_id}")
        return group

    def group_as_admin(self, account: Account, group_id: str, doing: str) -> Group:
        """A group the account is an admin of; else 403, saying what it was `doing`."""
        group = self.group(account, group_id)
        if not is_admin(group, account.phone):
            raise SimError(403, f"only group admins can {doing}")
        return group

    def group_by_invite(self, code: str) -> Group:
        for group in self.state.groups:
            if group.invite_code == code:
                return group
        raise SimError(404, "invite code not found or revoked")

    def picture_jpeg(self, group: Group) -> bytes | None:
        if group.picture is None:
            return None
        return base64.b64decode(self.state.pictures[group.picture])

    def new_group_id(self) -> str:
        while True:
            candidate = f"120363{secrets.randbelow(10**12):012d}@g.us"
            if candidate not in self._groups:
                return candidate

    def add_group(self, group: Group) -> None:
        self.state.groups.append(group)
        self._groups[group.id] = group

    def drop_group(self, group: Group) -> None:
        self.state.groups.remove(group)
        del self._groups[group.id]

    # -- events ----------------------------------------------------------------------------

    def sessions_in(self, group: Group) -> frozenset[str]:
        """The sessions whose accounts are in `group` now."""
        return frozenset(a.session for a in self.state.accounts if a.phone in group.participants)

    def participant_event(
        self, group: Group, change: str, phones: list[str], before: frozenset[str] = frozenset()
    ) -> None:
        """Queue `group.participant` with `change` ("joined", "left", ...) for `phones`, if
        any, told to the sessions in the group and to those in it `before` the change."""
        if phones:
            people = [self.person(phone) for phone in phones]
            self.emit("group.participant", group, {change: people}, before)

    def emit(
        self,
        kind: str,
        group: Group,
        payload: dict[str, Any],
        also: frozenset[str] = frozenset(),
        *,
        only: set[str] | None = None,
    ) -> None:
        """Queue an event for the sessions in `group` now, plus `also` (or exactly `only`).

        People in the payload are written as each session sees them, as Titan's JIDRef: the
        number and the LID (`mode` "pn"), or only the LID when the number is hidden from that
        session's account (`mode` "lid"). The group is its id, a string.
        """
        sessions = frozenset(only) if only is not None else self.sessions_in(group) | also
        payloads: dict[str, dict[str, Any]] = {}
        for session in sorted(sessions):
            viewer = self.account(session)
            payloads[session] = {"id": group.id} | {
                key: [self._seen_as(viewer, group, item) for item in value]
                if isinstance(value, list)
                else value
                for key, value in payload.items()
            }
        if payloads:
            self.outbox.append(Event(kind, payloads))

    # -- internals -------------------------------------------------------------------------

    def _index(self, person: Person) -> None:
        if person.lid is None:
            person.lid = derived_lid(person.phone)
        self._people[person.phone] = person
        self._by_lid[person.lid] = person

    def _seen_as(self, viewer: Account, group: Group, person: Person) -> dict[str, str | None]:
        if self.phone_visible(viewer, group, person):
            return {"phoneNumber": person.phone, "lid": person.lid_jid, "mode": "pn"}
        return {"phoneNumber": None, "lid": person.lid_jid, "mode": "lid"}


def is_admin(group: Group, phone: str) -> bool:
    return group.participants.get(phone, "member") != "member"


def is_creator(group: Group, phone: str) -> bool:
    """The creator's rights go with the super admin role: a creator who left and came back
    is an ordinary member (`Group.creator` keeps who made the group, for `ownerLid`)."""
    return group.participants.get(phone) == "superadmin"


def new_invite_code() -> str:
    return "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(22))
