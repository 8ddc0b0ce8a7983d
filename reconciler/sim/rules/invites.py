"""WhatsApp's rules for a group's invite link: admins see and revoke it, anyone holding its
code may join (titan-api.md, "Group settings and invite links")."""

from __future__ import annotations

from reconciler.core.limits import MAX_GROUP_SIZE
from reconciler.sim.state import Account, Group
from reconciler.sim.world import SimError, World, new_invite_code


def invite_code(world: World, account: Account, group_id: str) -> str:
    return world.group_as_admin(account, group_id, "see the invite link").invite_code


def revoke_invite(world: World, account: Account, group_id: str) -> str:
    """A new code for the group's link; the old one leads nowhere any more."""
    group = world.group_as_admin(account, group_id, "revoke the invite link")
    group.invite_code = new_invite_code()
    return group.invite_code


def join(world: World, account: Account, code: str) -> Group:
    group = world.group_by_invite(code)
    if account.phone in group.participants:
        raise SimError(409, "you are already a participant of this group")
    if len(group.participants) >= MAX_GROUP_SIZE:
        raise SimError(409, f"the group is full ({MAX_GROUP_SIZE} participants)")
    group.participants[account.phone] = "member"
    group.invited_at.pop(account.phone, None)
    group.left_at.pop(account.phone, None)
    world.participant_event(group, "joined", [account.phone])
    # Told only to the session that joined: the others hear of it as "joined" above.
    world.emit("group.update", group, {"action": "joined"}, only={account.session})
    return group
