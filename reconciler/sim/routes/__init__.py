"""The simulator's HTTP routes, one module a resource: `sessions`, `groups`, `participants`,
`invites`, `messages`, `webhooks`, and the simulator's own `controls` (`/_sim/...`)."""

from __future__ import annotations

from starlette.routing import Route

from reconciler.sim.access import WorldAccess
from reconciler.sim.gateway import SimStats
from reconciler.sim.routes.controls import ControlRoutes
from reconciler.sim.routes.groups import GroupRoutes
from reconciler.sim.routes.invites import InviteRoutes
from reconciler.sim.routes.messages import MessageRoutes
from reconciler.sim.routes.participants import ParticipantRoutes
from reconciler.sim.routes.sessions import SessionRoutes
from reconciler.sim.routes.webhooks import WebhookRoutes


def all_routes(
    access: WorldAccess, *, stats: SimStats, picture_getter: bool, allow_local_webhooks: bool
) -> list[Route]:
    """Every route the simulator serves, in the order they are matched."""
    return [
        *SessionRoutes(access).routes(),
        # Before the groups' routes: `/groups/{group_id}` would take "join" for a group id.
        *InviteRoutes(access).routes(),
        *GroupRoutes(access, picture_getter).routes(),
        *ParticipantRoutes(access).routes(),
        *MessageRoutes(access).routes(),
        *WebhookRoutes(access, allow_local_webhooks).routes(),
        *ControlRoutes(access, stats).routes(),
    ]


__all__ = ["all_routes"]
