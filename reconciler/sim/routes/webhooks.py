"""`/api/webhooks`: register, list and delete the webhooks the simulator delivers to."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reconciler.sim import registrations
from reconciler.sim.access import WorldAccess
from reconciler.sim.answers import ok
from reconciler.sim.requests import read_body


@dataclass
class WebhookRoutes:
    access: WorldAccess
    # Test-only: accept http and local URLs for webhooks, which Titan refuses.
    allow_local: bool

    def routes(self) -> list[Route]:
        return [
            Route("/api/webhooks", self.create_webhook, methods=["POST"]),
            Route("/api/webhooks", self.list_webhooks, methods=["GET"]),
            Route("/api/webhooks/{webhook_id}", self.delete_webhook, methods=["DELETE"]),
        ]

    async def create_webhook(self, request: Request) -> Response:
        body = await read_body(request, registrations.WebhookRequest)
        with self.access.store.change() as world:
            hook, key = registrations.create(
                world, body, now=self.access.now(), allow_local=self.allow_local
            )
        # The signing key is shown this once.
        return ok({**registrations.as_json(hook), "hmacKey": key}, status=201)

    async def list_webhooks(self, request: Request) -> Response:
        return ok([registrations.as_json(h) for h in self.access.store.world().state.webhooks])

    async def delete_webhook(self, request: Request) -> Response:
        with self.access.store.change() as world:
            registrations.delete(world, request.path_params["webhook_id"])
        return ok({"success": True})
