"""Creating a group without making two: recovery of a create whose answer was lost.

Creating is not idempotent, so it is never repeated blindly: after a failure that may have
created the group anyway (a 5xx, a lost answer), the session's groups are searched for it
first, and creation is repeated only if it is not there. When that cannot be told, the create
stops with `CreateUncertainError` rather than risk a second group.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from reconciler.core.jid import Jid
from reconciler.errors import ApiConnectionError, ApiError, CreateUncertainError
from reconciler.titan.http import TitanHttp
from reconciler.titan.models import Group, SessionInfo
from reconciler.titan.results import CreatedGroup, ParticipantResult, parse_participant_results
from reconciler.titan.retries import surely_not_applied

log = logging.getLogger("reconciler.titan")

# How far apart the API's clock and ours may be when looking for a group a lost create made.
CLOCK_SKEW = 300.0


class GroupReader(Protocol):
    """The reads a search for a lost create needs (TitanClient has them)."""

    async def get_session(self) -> SessionInfo: ...

    async def list_groups(self) -> list[Group]: ...

    async def get_group(self, group: Jid) -> Group: ...


class GroupCreation:
    """The attempts of one create, for the retry loop. After an attempt that failed in a way
    that may have made the group anyway, the next one looks for that group first, and returns
    it if found instead of creating another."""

    def __init__(
        self,
        groups: GroupReader,
        http: TitanHttp,
        *,
        name: str,
        body: dict[str, Any],
        participants: Sequence[Jid],
        started: float,
    ) -> None:
        self._groups = groups
        self._http = http
        self._name = name
        self._body = body
        self._participants = participants
        self._started = started
        self._unsettled: ApiError | None = None  # a failure after which the group may exist

    async def attempt(self, number: int) -> CreatedGroup:
        found = await self._group_made_earlier()
        if found is not None:
            return found
        try:
            data = await self._http.send("POST", "/groups", self._body, None, number)
        except ApiError as exc:
            if not surely_not_applied(exc):
                self._unsettled = exc
            raise
        return _read_created(data, self._participants, self._http)

    async def _group_made_earlier(self) -> CreatedGroup | None:
        """The group an earlier attempt made, or None when none did (so the create may be
        sent); `CreateUncertainError` when that cannot be told."""
        unsettled = self._unsettled
        if unsettled is None:
            return None
        found = await find_group_created_since(self._groups, self._name, self._started, unsettled)
        if found is not None:
            log.warning("create %r: the earlier answer was lost; found %s", self._name, found.id)
            return CreatedGroup(group=found, recovered=True)
        if isinstance(unsettled, ApiConnectionError) and unsettled.timed_out:
            # Titan may still be creating it: not finding it yet proves nothing.
            raise _uncertain(
                unsettled,
                f"the create of {self._name!r} timed out and the group"
                " may still appear: not created again",
            )
        return None


async def find_group_created_since(
    groups: GroupReader, name: str, since: float, failure: ApiError | None = None
) -> Group | None:
    """The newest group named `name` that this session's account created after `since`.

    A same-named group of ours whose creation time the API does not give cannot be told
    apart from one this call made: after a `failure`, that is `CreateUncertainError`, not a
    second create; without one, it is not the group looked for.
    """
    me = await groups.get_session()
    candidates = [group for group in await groups.list_groups() if group.name == name]
    found: list[Group] = []
    for candidate in candidates:
        group = candidate
        if group.created_at is None or group.owner_lid is None:
            group = await groups.get_group(candidate.id)
        if me.phone is not None and not _owned_by(group, me.phone, me.lid):
            continue
        if group.created_at is None:
            if failure is None:
                continue
            raise _uncertain(
                failure,
                f"the create of {name!r} failed, and {group.id} has"
                " that name but no creation time: not created again",
            )
        if group.created_at >= since - CLOCK_SKEW:
            found.append(group)
    if not found:
        return None
    newest = max(found, key=lambda group: group.created_at or 0)
    return newest if newest.participants is not None else await groups.get_group(newest.id)


def _read_created(data: Any, participants: Sequence[Jid], http: TitanHttp) -> CreatedGroup:
    """The answer to a create: the group, and what became of each participant asked for."""
    group = http.parse(Group.model_validate, data, "POST", "/groups")
    results: tuple[ParticipantResult, ...] = ()
    if isinstance(data, dict) and "results" in data:
        try:
            results = parse_participant_results({"results": data["results"]}, participants)
        except ValueError as exc:  # pydantic's ValidationError included
            # The group exists: failing here would leave it unreported. Without results,
            # whoever is among its participants was added, and the others were not.
            log.warning("POST /groups: unreadable participant results (%s)", exc)
    return CreatedGroup(group=group, results=results)


def _uncertain(failure: ApiError, message: str) -> CreateUncertainError:
    return CreateUncertainError(
        method=failure.method,
        path=failure.path,
        status=failure.status,
        attempts=failure.attempts,
        message=f"{failure.message}; {message}; the next plan finds it if it was made",
    )


def _owned_by(group: Group, phone: Jid, lid: Jid | None) -> bool:
    if group.owner_lid is not None:
        return group.owner_lid in (phone, lid)
    return any(
        p.is_super_admin and (p.phone == phone or (lid is not None and p.lid == lid))
        for p in group.participants or ()
    )
