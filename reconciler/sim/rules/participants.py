"""WhatsApp's rules for a group's participants: add, remove, promote and demote.

Each call names people by JID (a phone JID or a LID) and WhatsApp answers per person, with the
codes titan-api.md lists under "Per-participant results": the call succeeds as a whole and each
`Outcome` says what happened to one person.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

from reconciler.core.jid import JidKind, jid_from_api
from reconciler.core.limits import MAX_GROUP_SIZE, MAX_PARTICIPANTS_PER_CALL
from reconciler.errors import InvalidJidError
from reconciler.sim.state import Account, Group, Person, Role
from reconciler.sim.world import SimError, World, is_creator, new_invite_code

# How long the invite code WhatsApp returns with a refused add (privacy settings) is valid.
ADD_REQUEST_SECONDS = 3 * 86400


class ParticipantStatus(IntEnum):
    """The per-participant codes WhatsApp sends for add, remove, promote and demote.

    The simulator's own, from titan-api.md: were it the client's, a wrong code there would be
    on both sides of the contract tests.
    """

    DONE = 200
    # On add: the person's privacy settings forbid being added. WhatsApp answers with an
    # invite code (an add request) and sends it to nobody.
    NEEDS_INVITE = 403
    NOT_PARTICIPANT = 404  # on add: not on WhatsApp (or a LID nobody has)
    RECENTLY_LEFT = 408
    ALREADY = 409  # already a member (add), already admin (promote), not admin (demote)
    COMMUNITY = 417
    GROUP_FULL = 419


@dataclass(frozen=True, slots=True)
class Outcome:
    """One participant's result in an add/remove/promote/demote call."""

    jid: str
    status: int
    message: str | None = None
    # For an add refused by privacy settings: the invite WhatsApp made, (code, expiration).
    add_request: tuple[str, int] | None = None


# A requested JID and the person it names; None for a LID nobody has, or a phone JID aimed at
# a group that keys its members by LID.
Requested = list[tuple[str, Person | None]]


def add(world: World, account: Account, group_id: str, jids: list[str], now: int) -> list[Outcome]:
    group = world.group_as_admin(account, group_id, "add participants")
    return add_people(world, group, requested(world, jids), now)


def remove(world: World, account: Account, group_id: str, jids: list[str]) -> list[Outcome]:
    group = world.group_as_admin(account, group_id, "remove participants")
    people = requested(world, jids, members_of=group)
    before = world.sessions_in(group)
    outcomes: list[Outcome] = []
    for jid, person in people:
        if person is None or person.phone not in group.participants:
            outcomes.append(Outcome(jid, ParticipantStatus.NOT_PARTICIPANT, "not a participant"))
        elif is_creator(group, person.phone):
            outcomes.append(Outcome(jid, 403, "the group creator cannot be removed"))
        elif person.phone == account.phone:
            outcomes.append(Outcome(jid, 403, "you cannot remove yourself: leave the group"))
        else:
            del group.participants[person.phone]
            outcomes.append(Outcome(jid, ParticipantStatus.DONE))
    world.participant_event(group, "left", _done(outcomes, people), before)
    return outcomes


def promote(world: World, account: Account, group_id: str, jids: list[str]) -> list[Outcome]:
    group = world.group_as_admin(account, group_id, "promote participants")
    return _set_roles(world, group, jids, promote=True)


def demote(world: World, account: Account, group_id: str, jids: list[str]) -> list[Outcome]:
    group = world.group(account, group_id)
    if not is_creator(group, account.phone):
        raise SimError(403, "only the group creator (super admin) can demote admins")
    return _set_roles(world, group, jids, promote=False)


def requested(world: World, jids: list[str], *, members_of: Group | None = None) -> Requested:
    """Each requested JID with its person, or 400 for too many or for what is no person's JID.

    Looking for members of a LID-addressed group (`members_of`), a phone JID finds nobody:
    engines look the participant up by the address given, and such a group keys them by LID.
    """
    if len(jids) > MAX_PARTICIPANTS_PER_CALL:
        raise SimError(
            400, f"{len(jids)} participants in one request; at most {MAX_PARTICIPANTS_PER_CALL}"
        )
    by_lid_only = members_of is not None and members_of.addressing_mode == "lid"
    resolved: Requested = []
    for jid in jids:
        try:
            parsed = jid_from_api(jid) if isinstance(jid, str) else None
        except InvalidJidError:
            parsed = None
        if parsed is None or parsed.kind is JidKind.GROUP:
            raise SimError(400, f"{jid!r} is not a participant JID")
        if parsed.kind is JidKind.LID:
            resolved.append((jid, world.person_with_lid(parsed.user)))
        elif by_lid_only:
            resolved.append((jid, None))
        else:
            resolved.append((jid, world.person(parsed.e164)))
    return resolved


def add_people(
    world: World, group: Group, people: Requested, now: int, *, joined_first: Iterable[str] = ()
) -> list[Outcome]:
    """Add each person WhatsApp lets in; one "joined" event names `joined_first` (a new
    group's creator) and then everyone added."""
    outcomes = [_add_one(world, group, jid, person, now) for jid, person in people]
    world.participant_event(group, "joined", [*joined_first, *_done(outcomes, people)])
    return outcomes


def _add_one(world: World, group: Group, jid: str, person: Person | None, now: int) -> Outcome:
    if person is None:
        return Outcome(jid, ParticipantStatus.NOT_PARTICIPANT, "no WhatsApp account for this LID")
    if person.phone in group.participants:
        return Outcome(jid, ParticipantStatus.ALREADY, "already a participant")
    left = group.left_at.get(person.phone)
    if left is not None and now - left < world.state.settings.recently_left_seconds:
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
            add_request=(new_invite_code(), now + ADD_REQUEST_SECONDS),
        )
    group.participants[person.phone] = "member"
    group.invited_at.pop(person.phone, None)
    return Outcome(jid, ParticipantStatus.DONE)


def _set_roles(world: World, group: Group, jids: list[str], *, promote: bool) -> list[Outcome]:
    people = requested(world, jids, members_of=group)
    outcomes: list[Outcome] = []
    for jid, person in people:
        role: Role | None = group.participants.get(person.phone) if person else None
        if person is None or role is None:
            outcomes.append(Outcome(jid, ParticipantStatus.NOT_PARTICIPANT, "not a participant"))
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
    world.participant_event(group, "promoted" if promote else "demoted", _done(outcomes, people))
    return outcomes


def _done(outcomes: list[Outcome], people: Requested) -> list[str]:
    return [
        person.phone
        for outcome, (_, person) in zip(outcomes, people, strict=True)
        if outcome.status == ParticipantStatus.DONE and person is not None
    ]
