"""`POST /api/messages/send`: a text message, as the session the body names."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.sim.access import WorldAccess
from reconciler.sim.answers import ok
from reconciler.sim.requests import SendTextRequest, read_body
from reconciler.sim.rules import messages


@dataclass
class MessageRoutes:
    access: WorldAccess

    def routes(self) -> list[Route]:
        return [Route("/api/messages/send", self.send_text, methods=["POST"])]

    async def send_text(self, request: Request) -> Response:
        body = await read_body(request, SendTextRequest)
        # The path names no session, so `access.write` cannot act as one: the body's does.
        with self.access.store.change() as world:
            account = world.connected_account(body.session)
            message = messages.send_text(world, account, body.chatId, body.text, self.access.now())
            world.count_write(account)
            sender = world.person(account.phone)
        return ok(
            {
                "id": message.id,
                "status": "sent",
                "timestamp": message.timestamp,
                "fromPhoneNumber": sender.phone,
                "fromLid": sender.lid_jid,
            }
        )
