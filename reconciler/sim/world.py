"""WhatsApp's group rules over a `WorldState`: pure, no I/O, no clock of its own.

Every operation acts as an account (the session calling) and either changes the world and
returns what happened, or raises `SimError` with the HTTP status and message Titan would send.
Changes are also queued as webhook events in `outbox` for the HTTP layer to deliver.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.jid import JidKind, jid_from_api
from reconciler.core.limits import (
    MAX_DESCRIPTION_LENGTH,
    MAX_GROUP_SIZE,
    MAX_PARTICIPANTS_PER_CALL,
    MAX_SUBJECT_LENGTH,
)
from reconciler.errors import InvalidJidError
from reconciler.sim.state import (
    Account,
    Group,
    Person,
    Role,
    SentMessage,
    SessionStatus,
    StatusReason,
    WorldState,
    derived_lid,
)
from reconciler.titan.models import (
    ParticipantStatus,
)

_INVITE_ALPHABET = string.ascii_letters + string.digits
MAX_MESSAGE_LENGTH = 65536
# How long the invite code WhatsApp returns with a refused add (privacy settings) is valid.
ADD_REQUEST_SECONDS = 3 * 86400
_NOT_PARTICIPANT = ParticipantStatus.NOT_PARTICIPANT


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


@dataclass(frozen=True, slots=True)
class Outcome:
    """One participant's result in an add/remove/promote/demote call."""

    jid: str
    status: int
    message: str | None = None
    # For an add refused by privacy settings: the invite WhatsApp made, (code, expiration).
    add_request: tuple[str, int] | None = None


@dataclass(slots=True)
class World:
    """The world and its indexes. Build with `World(state)`; mutate only through methods."""

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

    # -- lookups ---------------------------------------------------------------------------

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

    def group_by_invite(self, code: str) -> Group:
        for group in self.state.groups:
            if group.invite_code == code:
                return group
        raise SimError(404, "invite code not found or revoked")

    def phone_visible(self, viewer: Account, group: Group, person: Person) -> bool:
        """Whether `viewer` sees the number of `person` in `group` (else only the LID)."""
        if person.phone_visible_to == "everyone" or person.phone == viewer.phone:
            return True
        if person.phone in viewer.contacts:
            return True
        return person.phone_visible_to == "admins" and _is_admin(group, viewer.phone)

    def participants_seen_by(
        self, viewer: Account, group: Group
    ) -> Iterator[tuple[Person, Role, bool]]:
        """Each participant of `group` in joining order, with their role and whether `viewer`
        sees their number (as `phone_visible` says, the viewer's part worked out once)."""
        viewer_is_admin = _is_admin(group, viewer.phone)
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

    def picture_jpeg(self, group: Group) -> bytes | None:
        if group.picture is None:
            return None
        return base64.b64decode(self.state.pictures[group.picture])

    # -- group lifecycle -------------------------------------------------------------------

    def create_group(
        self, account: Account, name: str, participants: list[str], now: int
    ) -> tuple[Group, list[Outcome]]:
        _check_subject(name)
        _check_batch(participants)
        people = self._resolve_all(participants)
        group = Group(
            id=self._new_group_id(),
            subject=name,
            creator=account.phone,
            created_at=now,
            invite_code=_new_invite_code(),
            participants={account.phone: "superadmin"},
        )
        self.state.groups.append(group)
        self._groups[group.id] = group
        outcomes = [self._add_one(group, jid, person, now) for jid, person in people]
        self._participant_event(group, "joined", [account.phone, *_done(outcomes, people)])
        return group, outcomes

    def leave(self, account: Account, group_id: str, now: int) -> None:
        group = self.group(account, group_id)
        before = self._sessions(group)
        del group.participants[account.phone]
        group.left_at[account.phone] = now
        if not group.participants:
            self._drop(group)
        elif not any(role != "member" for role in group.participants.values()):
            # WhatsApp never leaves a group without an admin: the longest member takes over.
            group.participants[next(iter(group.participants))] = "admin"
        self._participant_event(group, "left", [account.phone], before)

    def delete(self, account: Account, group_id: str) -> None:
        group = self.group(account, group_id)
        if not _is_creator(group, account.phone):
            raise SimError(403, "only the group creator can delete the group")
        before = self._sessions(group)
        self._participant_event(group, "left", list(group.participants), before)
        self._drop(group)

    # -- settings --------------------------------------------------------------------------

    def set_subject(self, account: Account, group_id: str, subject: str) -> None:
        group = self._as_admin(account, group_id, "change the subject")
        _check_subject(subject)
        if subject != group.subject:
            group.subject = subject
            self._emit("group.update", group, {"newSubject": subject})

    def set_description(self, account: Account, group_id: str, description: str) -> None:
        group = self._as_admin(account, group_id, "change the description")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise SimError(400, f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")
        if description != group.description:
            group.description = description
            self._emit("group.update", group, {"newDescription": description})

    def set_picture(self, account: Account, group_id: str, jpeg: bytes) -> None:
        group = self._as_admin(account, group_id, "change the picture")
        key = hashlib.sha256(jpeg).hexdigest()
        self.state.pictures.setdefault(key, base64.b64encode(jpeg).decode())
        if group.picture != key:
            group.picture = key
            self._emit("group.update", group, {"newPicture": True})

    # -- participants ----------------------------------------------------------------------

    def add(self, account: Account, group_id: str, jids: list[str], now: int) -> list[Outcome]:
        group = self._as_admin(account, group_id, "add participants")
        _check_batch(jids)
        people = self._resolve_all(jids)
        outcomes = [self._add_one(group, jid, person, now) for jid, person in people]
        self._participant_event(group, "joined", _done(outcomes, people))
        return outcomes

    def remove(self, account: Account, group_id: str, jids: list[str]) -> list[Outcome]:
        group = self._as_admin(account, group_id, "remove participants")
        _check_batch(jids)
        before = self._sessions(group)
        outcomes: list[Outcome] = []
        people = self._resolve_all(jids, members_of=group)
        for jid, person in people:
            if person is None or person.phone not in group.participants:
                outcomes.append(Outcome(jid, _NOT_PARTICIPANT, "not a participant"))
            elif _is_creator(group, person.phone):
                outcomes.append(Outcome(jid, 403, "the group creator cannot be removed"))
            elif person.phone == account.phone:
                outcomes.append(Outcome(jid, 403, "you cannot remove yourself: leave the group"))
            else:
                del group.participants[person.phone]
                outcomes.append(Outcome(jid, ParticipantStatus.DONE))
        self._participant_event(group, "left", _done(outcomes, people), before)
        return outcomes

    def promote(self, account: Account, group_id: str, jids: list[str]) -> list[Outcome]:
        group = self._as_admin(account, group_id, "promote participants")
        return self._set_roles(group, jids, promote=True)

    def demote(self, account: Account, group_id: str, jids: list[str]) -> list[Outcome]:
        group = self.group(account, group_id)
        if not _is_creator(group, account.phone):
            raise SimError(403, "only the group creator (super admin) can demote admins")
        return self._set_roles(group, jids, promote=False)

    # -- invites ---------------------------------------------------------------------------

    def invite_code(self, account: Account, group_id: str) -> str:
        return self._as_admin(account, group_id, "see the invite link").invite_code

    def revoke_invite(self, account: Account, group_id: str) -> str:
        group = self._as_admin(account, group_id, "revoke the invite link")
        group.invite_code = _new_invite_code()
        return group.invite_code

    def join(self, account: Account, code: str) -> Group:
        group = self.group_by_invite(code)
        if account.phone in group.participants:
            raise SimError(409, "you are already a participant of this group")
        if len(group.participants) >= MAX_GROUP_SIZE:
            raise SimError(409, f"the group is full ({MAX_GROUP_SIZE} participants)")
        group.participants[account.phone] = "member"
        group.invited_at.pop(account.phone, None)
        group.left_at.pop(account.phone, None)
        self._participant_event(group, "joined", [account.phone])
        # Told only to the session that joined: the others hear of it as "joined" above.
        self._emit("group.update", group, {"action": "joined"}, only={account.session})
        return group

    # -- messages --------------------------------------------------------------------------

    def send_text(self, account: Account, chat_id: str, text: str, now: int) -> SentMessage:
        """A text message to a person (any number on WhatsApp, or a known LID) or to a group
        the account is in. Recorded in `WorldState.messages`; nobody reads it."""
        if not text.strip():
            raise SimError(400, "the message text must not be empty")
        if len(text) > MAX_MESSAGE_LENGTH:
            raise SimError(400, f"the message text is longer than {MAX_MESSAGE_LENGTH} characters")
        try:
            parsed = jid_from_api(chat_id)
        except InvalidJidError:
            raise SimError(
                400, f"{chat_id!r} is not a chat id (a person's JID or a group id)"
            ) from None
        if parsed.kind is JidKind.GROUP:
            self.group(account, str(parsed))
        elif parsed.kind is JidKind.LID and parsed.user not in self._by_lid:
            raise SimError(404, f"no WhatsApp account for {chat_id}")
        message = SentMessage(
            id=f"3EB0{secrets.token_hex(8).upper()}",
            session=account.session,
            sender=account.phone,
            chat_id=chat_id,
            text=text,
            timestamp=now,
        )
        self.state.messages.append(message)
        return message

    # -- internals -------------------------------------------------------------------------

    def _index(self, person: Person) -> None:
        if person.lid is None:
            person.lid = derived_lid(person.phone)
        self._people[person.phone] = person
        self._by_lid[person.lid] = person

    def _resolve_all(
        self, jids: Iterable[str], *, members_of: Group | None = None
    ) -> list[tuple[str, Person | None]]:
        """Each requested JID with its person; None for a LID nobody has. Looking for members
        of a LID-addressed group (`members_of`), a phone JID finds nobody: engines look the
        participant up by the address given, and such a group keys them by LID."""
        by_lid_only = members_of is not None and members_of.addressing_mode == "lid"
        resolved: list[tuple[str, Person | None]] = []
        for jid in jids:
            try:
                parsed = jid_from_api(jid) if isinstance(jid, str) else None
            except InvalidJidError:
                parsed = None
            if parsed is None or parsed.kind is JidKind.GROUP:
                raise SimError(400, f"{jid!r} is not a participant JID")
            if parsed.kind is JidKind.LID:
                resolved.append((jid, self._by_lid.get(parsed.user)))
            elif by_lid_only:
                resolved.append((jid, None))
            else:
                resolved.append((jid, self.person(parsed.e164)))
        return resolved

    def _add_one(self, group: Group, jid: str, person: Person | None, now: int) -> Outcome:
        if person is None:
            return Outcome(jid, _NOT_PARTICIPANT, "no WhatsApp account for this LID")
        if person.phone in group.participants:
            return Outcome(jid, ParticipantStatus.ALREADY, "already a participant")
        left = group.left_at.get(person.phone)
        if left is not None and now - left < self.state.settings.recently_left_seconds:
            return Outcome(jid, ParticipantStatus.RECENTLY_LEFT, "left the group recently")
        if len(group.participants) >= MAX_GROUP_SIZE:
            return Outcome(jid, ParticipantStatus.GROUP_FULL, "the group is full")
        if person.invite_only:
            # WhatsApp adds no one whose privacy settings forbid it, and tells them nothing:
            # the invite it makes reaches them only if the caller sends it.
            group.invited_at[person.phone] = now
            return Outcome(
                jid,
                ParticipantStatus.NEEDS_INVITE,
                "privacy settings: they must be invited",
                add_request=(_new_invite_code(), now + ADD_REQUEST_SECONDS),
            )
        group.participants[person.phone] = "member"
        group.invited_at.pop(person.phone, None)
        return Outcome(jid, ParticipantStatus.DONE)

    def _set_roles(self, group: Group, jids: list[str], *, promote: bool) -> list[Outcome]:
        _check_batch(jids)
        people = self._resolve_all(jids, members_of=group)
        outcomes: list[Outcome] = []
        for jid, person in people:
            role: Role | None = group.participants.get(person.phone) if person else None
            if person is None or role is None:
                outcomes.append(Outcome(jid, _NOT_PARTICIPANT, "not a participant"))
            elif role == "superadmin":
                verb = "promoted" if promote else "demoted"
                outcomes.append(
                    Outcome(
                        jid,
                        403 if not promote else ParticipantStatus.ALREADY,
                        f"the group creator cannot be {verb}",
                    )
                )
            elif (role == "admin") == promote:
                state = "already an admin" if promote else "not an admin"
                outcomes.append(Outcome(jid, ParticipantStatus.ALREADY, state))
            else:
                group.participants[person.phone] = "admin" if promote else "member"
                outcomes.append(Outcome(jid, ParticipantStatus.DONE))
        self._participant_event(
            group, "promoted" if promote else "demoted", _done(outcomes, people)
        )
        return outcomes

    def check_admin(self, account: Account, group_id: str, doing: str) -> None:
        """Refuse (403) unless the account is an admin of the group."""
        self._as_admin(account, group_id, doing)

    def _as_admin(self, account: Account, group_id: str, doing: str) -> Group:
        group = self.group(account, group_id)
        if not _is_admin(group, account.phone):
            raise SimError(403, f"only group admins can {doing}")
        return group

    def _drop(self, group: Group) -> None:
        self.state.groups.remove(group)
        del self._groups[group.id]

    def _new_group_id(self) -> str:
        while True:
            candidate = f"120363{secrets.randbelow(10**12):012d}@g.us"
            if candidate not in self._groups:
                return candidate

    def _sessions(self, group: Group) -> frozenset[str]:
        return frozenset(a.session for a in self.state.accounts if a.phone in group.participants)

    def _participant_event(
        self, group: Group, change: str, phones: list[str], before: frozenset[str] = frozenset()
    ) -> None:
        if phones:
            people = [self.person(phone) for phone in phones]
            self._emit("group.participant", group, {change: people}, before)

    def _emit(
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
        sessions = frozenset(only) if only is not None else self._sessions(group) | also
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

    def _seen_as(self, viewer: Account, group: Group, person: Person) -> dict[str, str | None]:
        if self.phone_visible(viewer, group, person):
            return {"phoneNumber": person.phone, "lid": person.lid_jid, "mode": "pn"}
        return {"phoneNumber": None, "lid": person.lid_jid, "mode": "lid"}


def _is_admin(group: Group, phone: str) -> bool:
    return group.participants.get(phone, "member") != "member"


def _is_creator(group: Group, phone: str) -> bool:
    """The creator's rights go with the super admin role: a creator who left and came back
    is an ordinary member (`Group.creator` keeps who made the group, for `ownerLid`)."""
    return group.participants.get(phone) == "superadmin"


def _done(outcomes: list[Outcome], people: list[tuple[str, Person | None]]) -> list[str]:
    return [
        person.phone
        for outcome, (_, person) in zip(outcomes, people, strict=True)
        if outcome.status == ParticipantStatus.DONE and person is not None
    ]


def _check_subject(subject: str) -> None:
    if not subject.strip():
        raise SimError(400, "the subject must not be empty")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise SimError(400, f"the subject is longer than {MAX_SUBJECT_LENGTH} characters")


def _check_batch(jids: list[str]) -> None:
    if len(jids) > MAX_PARTICIPANTS_PER_CALL:
        raise SimError(
            400, f"{len(jids)} participants in one request; at most {MAX_PARTICIPANTS_PER_CALL}"
        )


def _new_invite_code() -> str:
    return "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(22))
