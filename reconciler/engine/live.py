"""Read live state: who the session is, its groups, and details of the groups the config
manages, concurrently (the client bounds how many calls run at once).

API calls: one for the session, one for the list, and one per managed group; a group whose
picture the config manages costs one more (the picture URL) plus the picture's download.
Titan documents no route for that URL: the first such call finds out whether this Titan has
one (the client remembers), and where it has none, the state file's record of the last
picture apply uploaded stands in for the live picture (`uploaded`), with no further call.

Pictures are fingerprinted in worker threads: Pillow decodes without the GIL, so they are
fingerprinted in parallel (as many at once as `core.pictures` allows), and the event loop
goes on with the other groups' calls meanwhile instead of stopping for each picture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path

from reconciler.core.groups import (
    DesiredGroup,
    DesiredState,
    FetchedPicture,
    GroupState,
    ListedGroup,
    LiveGroup,
    LiveState,
    LocalPicture,
    Picture,
    UploadedPicture,
)
from reconciler.core.jid import Jid
from reconciler.core.pictures import fingerprint
from reconciler.engine.matching import match_groups
from reconciler.errors import ApiError, NoPictureGetterError, PictureError, SettingsError
from reconciler.titan.client import TitanClient
from reconciler.titan.models import Group


async def fetch(
    client: TitanClient,
    desired: DesiredState,
    *,
    only: frozenset[str] = frozenset(),
    uploaded: Mapping[Jid, UploadedPicture] | None = None,
) -> LiveState:
    """Live state for planning `desired` (only the groups in `only`, when given); `uploaded`:
    the state file's records of the pictures apply uploaded, by group id."""
    session = await client.wait_until_connected()
    summaries = await client.list_groups()
    if session.phone is None:
        raise SettingsError(
            f"Titan does not say which WhatsApp account session {session.name!r}"
            f" is (status {session.status}): is the session paired with a phone?"
        )
    listed = tuple(ListedGroup(group.id, group.name) for group in summaries)
    matching = match_groups(desired, listed)
    managed = [g for g in desired.groups if not only or g.key in only]
    wanted: dict[Jid, bool] = {}  # group id -> whether its picture is managed
    for group in managed:
        group_id = matching.bound.get(group.key)
        if group_id is not None:
            with_picture = group.state.picture is not None and group.policy.ensure == "present"
            wanted[group_id] = wanted.get(group_id, False) or with_picture
    details = await asyncio.gather(
        *(
            fetch_group(client, gid, with_picture=pic, uploaded=(uploaded or {}).get(gid))
            for gid, pic in wanted.items()
        )
    )
    pictures, problems = await _desired_pictures(client, managed)
    return LiveState(
        me=session.phone,
        me_lid=session.lid,
        listed=listed,
        groups={group.id: group for group in details},
        pictures=pictures,
        picture_problems=problems,
    )


def live_state_of(group: Group, picture: FetchedPicture | None = None) -> GroupState:
    """The normalized state of a group as the API shows it."""
    # Each participant carries its address and standing, read once for every group it is in.
    members = {participant.jid: participant.member for participant in group.participants or ()}
    return GroupState(group.name, group.description or "", picture, members)


async def fetch_group(
    client: TitanClient,
    group_id: Jid,
    *,
    with_picture: bool,
    uploaded: UploadedPicture | None = None,
) -> LiveGroup:
    """One group in detail, with its picture's fingerprint when `with_picture`; where Titan
    cannot show pictures, with `uploaded` (the state file's record for it) instead."""
    group = await client.get_group(group_id)
    if group.participants is None:  # an API that leaves them out of the info answer
        group = group.model_copy(
            update={"participants": tuple(await client.list_participants(group_id))}
        )
    if not with_picture:
        return LiveGroup(group_id, live_state_of(group))
    try:  # only now: the group was just read, so a 404 here is about the route
        url = await client.get_picture_url(group_id)
    except NoPictureGetterError:
        return LiveGroup(group_id, live_state_of(group), picture_unreadable=True, uploaded=uploaded)
    picture = None
    if url is not None:
        picture = FetchedPicture(await _fingerprint(await client.download(url), source=url))
    return LiveGroup(group_id, live_state_of(group, picture), picture_known=True)


async def _desired_pictures(
    client: TitanClient, groups: list[DesiredGroup]
) -> tuple[dict[Picture, str], dict[Picture, str]]:
    """Fingerprints of the pictures the config asks for, and why some cannot be read."""
    sources = {g.state.picture for g in groups if g.state.picture is not None}

    async def fingerprinted(picture: Picture) -> str:
        if isinstance(picture, LocalPicture):
            data = await asyncio.to_thread(Path(picture.path).read_bytes)
        else:
            data = await client.download(getattr(picture, "url", ""))
        return await _fingerprint(data, source=str(picture))

    results = await asyncio.gather(*(fingerprinted(p) for p in sources), return_exceptions=True)
    fingerprints: dict[Picture, str] = {}
    problems: dict[Picture, str] = {}
    for picture, result in zip(sources, results, strict=True):
        if isinstance(result, ApiError | OSError):
            problems[picture] = f"cannot read the picture: {result}"
        elif isinstance(result, PictureError):
            problems[picture] = str(result)
        elif isinstance(result, BaseException):
            raise result
        else:
            fingerprints[picture] = result
    return fingerprints, problems


async def _fingerprint(data: bytes, *, source: str) -> str:
    return await asyncio.to_thread(fingerprint, data, source=source)
