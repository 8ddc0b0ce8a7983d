"""`/_sim/...`: the simulator's own controls for tests, outside Titan's API: what it was asked,
and a session changing state as Titan would report it."""

from __future__ import annotations

from dataclasses import dataclass

import pydantic
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.sim.access import WorldAccess
from reconciler.sim.gateway import SimStats
from reconciler.sim.requests import read_body
from reconciler.sim.state import SessionStatus, StatusReason


class StatusChange(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    status: SessionStatus
    statusReason: StatusReason | None = None  # noqa: N815 - Titan's name


@dataclass
class ControlRoutes:
    access: WorldAccess
    stats: SimStats

    def routes(self) -> list[Route]:
        return [
            Route("/_sim/stats", self.stats_json, methods=["GET"]),
            Route("/_sim/sessions/{session}/status", self.set_status, methods=["POST"]),
        ]

    async def stats_json(self, request: Request) -> Response:
        return JSONResponse(self.stats.as_json())

    async def set_status(self, request: Request) -> Response:
        """The session changes state as Titan would report it (`session.status` webhooks
        included)."""
        body = await read_body(request, StatusChange)
        with self.access.changing() as world:
            account = world.account(request.path_params["session"])
            world.set_status(account, body.status, body.statusReason)
        return JSONResponse({"status": account.status, "statusReason": account.status_reason})
