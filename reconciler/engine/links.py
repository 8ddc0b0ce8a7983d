"""The invite links of the config's groups, for `groupctl links` (publishing them on an
intranet, say): read, never changed, and never put into a plan or its comment."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from reconciler.core.groups import DesiredState, ListedGroup
from reconciler.core.invites import invite_link
from reconciler.core.jid import Jid
from reconciler.engine.matching import match_groups
from reconciler.errors import GroupctlError
from reconciler.titan.client import TitanClient


@dataclass(frozen=True, slots=True)
class GroupLink:
    """A managed group's invite link, or why it could not be read."""

    key: str
    subject: str  # as WhatsApp shows it
    group_id: Jid | None  # None: the config's entry matches no one live group
    link: str | None
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "key": self.key,
            "subject": self.subject,
            "group_id": self.group_id,
            "link": self.link,
        }
        if self.problem is not None:
            data["problem"] = self.problem
        return data


async def invite_links(
    client: TitanClient, desired: DesiredState, *, only: frozenset[str] = frozenset()
) -> list[GroupLink]:
    """The current invite link of every group of `desired` (`only` these keys, when given)
    that exists and wants to be kept (ensure: present) and whose link is not disabled, in the
    config's order. A link that cannot be read is reported in its `problem`, not raised."""
    await client.wait_until_connected()
    listed = tuple(ListedGroup(group.id, group.name) for group in await client.list_groups())
    subjects = {group.id: group.subject for group in listed}
    matching = match_groups(desired, listed)
    bound = matching.bound
    refused = [  # as plan refuses them: which live group they are cannot be told
        GroupLink(group.key, group.state.subject, None, None, matching.errors[group.key])
        for group in desired.groups
        if (not only or group.key in only) and group.key in matching.errors
    ]
    wanted = [
        (group.key, group_id)
        for group in desired.groups
        if (not only or group.key in only)
        and group.policy.ensure == "present"
        and not group.policy.links_disabled
        and (group_id := bound.get(group.key)) is not None
    ]

    async def read(key: str, group_id: Jid) -> GroupLink:
        try:
            link = invite_link(await client.get_invite_code(group_id))
        except (GroupctlError, ValueError) as exc:
            return GroupLink(key, subjects[group_id], group_id, None, str(exc))
        return GroupLink(key, subjects[group_id], group_id, link)

    found = await asyncio.gather(*(read(key, group_id) for key, group_id in wanted))
    return [*found, *refused]
