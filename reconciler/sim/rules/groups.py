"""WhatsApp's rules for a group's life and settings: create, leave, delete, and the subject,
description and picture only admins may change."""

from __future__ import annotations

import base64
import hashlib

from reconciler.core.limits import MAX_DESCRIPTION_LENGTH, MAX_SUBJECT_LENGTH
from reconciler.sim.rules.participants import Outcome, add_people, requested
from reconciler.sim.state import Account, Group
from reconciler.sim.world import SimError, World, is_creator, new_invite_code


def create_group(
    world: World, account: Account, name: str, participants: list[str], now: int
) -> tuple[Group, list[Outcome]]:
    """A new group with the account as its super admin, and whom WhatsApp let in of the
    `participants` (each with its outcome, as an add answers)."""
    _check_subject(name)
    people = requested(world, participants)
    group = Group(
        id=world.new_group_id(),
        subject=name,
        creator=account.phone,
        created_at=now,
        invite_code=new_invite_code(),
        participants={account.phone: "superadmin"},
    )
    world.add_group(group)
    outcomes = add_people(world, group, people, now, joined_first=[account.phone])
    return group, outcomes


def leave(world: World, account: Account, group_id: str, now: int) -> None:
    group = world.group(account, group_id)
    before = world.sessions_in(group)
    del group.participants[account.phone]
    group.left_at[account.phone] = now
    if not group.participants:
        world.drop_group(group)
    elif not any(role != "member" for role in group.participants.values()):
        # WhatsApp never leaves a group without an admin: the longest member takes over.
        group.participants[next(iter(group.participants))] = "admin"
    world.participant_event(group, "left", [account.phone], before)


def delete(world: World, account: Account, group_id: str) -> None:
    group = world.group(account, group_id)
    if not is_creator(group, account.phone):
        raise SimError(403, "only the group creator can delete the group")
    before = world.sessions_in(group)
    world.participant_event(group, "left", list(group.participants), before)
    world.drop_group(group)


def set_subject(world: World, account: Account, group_id: str, subject: str) -> None:
    group = world.group_as_admin(account, group_id, "change the subject")
    _check_subject(subject)
    if subject != group.subject:
        group.subject = subject
        world.emit("group.update", group, {"newSubject": subject})


def set_description(world: World, account: Account, group_id: str, description: str) -> None:
    group = world.group_as_admin(account, group_id, "change the description")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        raise SimError(400, f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")
    if description != group.description:
        group.description = description
        world.emit("group.update", group, {"newDescription": description})


def set_picture(world: World, account: Account, group_id: str, jpeg: bytes) -> None:
    group = world.group_as_admin(account, group_id, "change the picture")
    key = hashlib.sha256(jpeg).hexdigest()
    world.state.pictures.setdefault(key, base64.b64encode(jpeg).decode())
    if group.picture != key:
        group.picture = key
        world.emit("group.update", group, {"newPicture": True})


def _check_subject(subject: str) -> None:
    if not subject.strip():
        raise SimError(400, "the subject must not be empty")
    if len(subject) > MAX_SUBJECT_LENGTH:
        raise SimError(400, f"the subject is longer than {MAX_SUBJECT_LENGTH} characters")
