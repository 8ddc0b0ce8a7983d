"""`/groups/{id}/participants`: list them, and add, remove, promote and demote, each answered
per participant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.sim.access import GROUP_PATH, WorldAccess
from reconciler.sim.answers import ok, participants_json, results_json
from reconciler.sim.requests import ParticipantsRequest, read_body
from reconciler.sim.rules import participants
from reconciler.sim.rules.participants import Outcome
from reconciler.sim.state import Account
from reconciler.sim.world import World

_Change = Callable[[World, Account, str, list[str]], list[Outcome]]


@dataclass
class ParticipantRoutes:
    access: WorldAccess

    def routes(self) -> list[Route]:
        path = f"{GROUP_PATH}/participants"
        add = self._change(
            lambda world, account, gid, jids: participants.add(
                world, account, gid, jids, self.access.now()
            )
        )
        return [
            Route(path, self.list_participants, methods=["GET"]),
            Route(path, add, methods=["POST"]),
            Route(path, self._change(participants.remove), methods=["DELETE"]),
            Route(f"{path}/promote", self._change(participants.promote), methods=["POST"]),
            Route(f"{path}/demote", self._change(participants.demote), methods=["POST"]),
        ]

    async def list_participants(self, request: Request) -> Response:
        return ok(self.access.read_group(request, participants_json))

    def _change(self, change: _Change) -> Callable[[Request], Awaitable[Response]]:
        """A route that changes participants and answers per participant."""

        async def route(request: Request) -> Response:
            gid = request.path_params["group_id"]
            body = await read_body(request, ParticipantsRequest)
            outcomes = self.access.write(
                request, lambda world, account: change(world, account, gid, body.participants)
            )
            return ok({"results": results_json(outcomes)})

        return route
