"""`GET /api/sessions/{session}`: the session object, flat as Titan documents it, or the
legacy `me` shape some engines answer when the world file asks for it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.sim.access import SESSION_PATH, WorldAccess
from reconciler.sim.answers import ok

# Until the phone is paired, Titan knows nothing of the account behind the session.
_UNPAIRED_REASONS = ("SCAN_QR", "QR_TIMEOUT", "LOGGED_OUT")


@dataclass
class SessionRoutes:
    access: WorldAccess

    def routes(self) -> list[Route]:
        return [Route(SESSION_PATH, self.get_session, methods=["GET"])]

    async def get_session(self, request: Request) -> Response:
        # Read whatever the session's state: telling it is what this route is for.
        world = self.access.store.world()
        account = world.account(request.path_params["session"])
        person = world.person(account.phone)
        name = account.push_name or person.name
        if world.state.settings.session_shape == "legacy":
            me = {"id": person.jid, "lid": person.lid_jid, "pushName": name}
            return ok({"name": account.session, "status": account.status, "me": me})
        paired = account.status == "CONNECTED" or account.status_reason not in _UNPAIRED_REASONS
        return ok(
            {
                "name": account.session,
                "status": account.status,
                "statusReason": account.status_reason,
                # Known once the phone is paired, as Titan's api-reference/sessions shows.
                "phoneNumber": account.phone if paired else None,
                "pushName": name if paired else None,
                "businessName": None,
                "platform": "smba",
                "lid": person.lid_jid if paired else None,
                "proxy": None,
            }
        )
