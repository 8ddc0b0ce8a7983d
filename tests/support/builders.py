"""Small builders for planner tests: desired and live states from plain dicts.

Roles are "member", "admin" or "superadmin"; people are E.164 numbers or `<digits>@lid`.
The session's account is ME; it is super admin of live groups unless a test says otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reconciler.core.groups import (
    DesiredGroup,
    DesiredState,
    FetchedPicture,
    GroupState,
    ListedGroup,
    LiveGroup,
    LiveState,
    Member,
    Picture,
    Policy,
    standing,
)
from reconciler.core.jid import Jid, parse_jid
from reconciler.engine.plan import Action, GroupPlan, Kind

ME = "+14155550100"
ME_LID = "100000000000001@lid"
A, B, C, D, E = (f"+1415555010{n}" for n in range(1, 6))


def jid(person: str) -> Jid:
    return parse_jid(person)


def members(roles: Mapping[str, str], lids: Mapping[str, str] | None = None) -> dict[Jid, Member]:
    lids = lids or {}
    return {
        jid(person): standing(
            admin=role != "member",
            super_admin=role == "superadmin",
            lid=jid(lids[person]) if person in lids else None,
        )
        for person, role in roles.items()
    }


def want(
    key: str,
    subject: str | None = None,
    roles: Mapping[str, str] | None = None,
    *,
    id: str | None = None,
    description: str | None = None,
    picture: Picture | None = None,
    lids: Mapping[str, str] | None = None,
    previously: tuple[str, ...] = (),
    **policy: Any,
) -> DesiredGroup:
    return DesiredGroup(
        key=key,
        id=jid(id) if id else None,
        state=GroupState(subject or key, description, picture, members(roles or {}, lids)),
        policy=Policy(**policy),
        previously=previously,
    )


def have(
    id: str,
    subject: str,
    roles: Mapping[str, str],
    *,
    description: str = "",
    picture: str | None = None,
    picture_known: bool = False,
    lids: Mapping[str, str] | None = None,
) -> LiveGroup:
    fetched = FetchedPicture(picture) if picture else None
    return LiveGroup(
        jid(id),
        GroupState(subject, description, fetched, members(roles, lids)),
        picture_known=picture_known,
    )


def desired(*groups: DesiredGroup, names: Mapping[str, str] | None = None) -> DesiredState:
    return DesiredState(groups=groups, directory={jid(p): n for p, n in (names or {}).items()})


def live(
    *groups: LiveGroup,
    others: int = 0,
    pictures: Mapping[Picture, str] | None = None,
    picture_problems: Mapping[Picture, str] | None = None,
) -> LiveState:
    listed = [ListedGroup(g.id, g.state.subject) for g in groups]
    listed += [
        ListedGroup(jid(f"1203630000000099{n:02d}@g.us"), f"Other {n}") for n in range(others)
    ]
    return LiveState(
        me=jid(ME),
        me_lid=jid(ME_LID),
        listed=tuple(listed),
        groups={g.id: g for g in groups},
        pictures=pictures or {},
        picture_problems=picture_problems or {},
    )


def steps(group: GroupPlan) -> list[tuple[str, ...]]:
    """The actions as (kind, members...) or (kind, old, new), for compact assertions."""
    return [_step(action) for action in group.actions]


def _step(action: Action) -> tuple[str, ...]:
    if action.kind in (Kind.SUBJECT, Kind.DESCRIPTION):
        return (action.kind.value, action.old or "", action.new or "")
    if action.kind in (Kind.PICTURE, Kind.CREATE):
        return (action.kind.value, action.new or "", *action.members)
    return (action.kind.value, *action.members)


def p(person: str) -> str:
    """A person as it appears in steps()."""
    return str(jid(person))
