"""`/groups/{id}/invite` and `/groups/join`: see and revoke a group's invite code, preview
what a code leads to, join with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.sim.access import GROUP_PATH, SESSION_PATH, WorldAccess
from reconciler.sim.answers import ok, participants_json
from reconciler.sim.requests import JoinRequest, read_body
from reconciler.sim.rules import invites
from reconciler.sim.state import Account
from reconciler.sim.world import SimError, World


@dataclass
class InviteRoutes:
    access: WorldAccess

    def routes(self) -> list[Route]:
        join = f"{SESSION_PATH}/groups/join"
        return [
            Route(join, self.preview_invite, methods=["GET"]),
            Route(join, self.join, methods=["POST"]),
            Route(f"{GROUP_PATH}/invite", self.get_invite, methods=["GET"]),
            Route(f"{GROUP_PATH}/invite", self.revoke_invite, methods=["DELETE"]),
        ]

    async def get_invite(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        code = self.access.read(
            request, lambda world, account: invites.invite_code(world, account, gid)
        )
        return ok({"code": code})

    async def revoke_invite(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        code = self.access.write(
            request, lambda world, account: invites.revoke_invite(world, account, gid)
        )
        return ok({"code": code})

    async def preview_invite(self, request: Request) -> Response:
        code = request.query_params.get("inviteCode")
        if not code:
            raise SimError(400, "the inviteCode query parameter is required")

        def preview(world: World, account: Account) -> dict[str, Any]:
            group = world.group_by_invite(code)
            members = participants_json(world, account, group)
            return {
                "id": group.id,
                "subject": group.subject,
                "size": len(members),
                "participants": members,
            }

        return ok(self.access.read(request, preview))

    async def join(self, request: Request) -> Response:
        body = await read_body(request, JoinRequest)
        group = self.access.write(
            request, lambda world, account: invites.join(world, account, body.code)
        )
        return ok({"id": group.id})
