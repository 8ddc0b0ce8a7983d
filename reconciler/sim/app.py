"""The simulator as one ASGI application: every endpoint of titan-api.md over a `WorldStore`.

`Simulator.asgi` is the whole application, gateway included (keys, rate limit, faults), for
uvicorn or an in-process transport. The routes are in `reconciler.sim.routes`, one module a
resource; the answers' shapes in `answers`, the request bodies in `requests`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette

from reconciler.sim.access import WorldAccess
from reconciler.sim.answers import ERROR_HANDLERS
from reconciler.sim.gateway import FaultInjector, Gateway, SimStats, SlidingWindow
from reconciler.sim.registrations import Deliveries
from reconciler.sim.routes import all_routes
from reconciler.sim.store import WorldStore
from reconciler.sim.webhooks import WebhookSender

WEBHOOK_FLUSH_SECONDS = 5.0  # at shutdown, for deliveries still queued


@dataclass
class SimConfig:
    """How the simulator behaves beyond WhatsApp's rules."""

    api_keys: dict[str, frozenset[str]]
    latency: float = 0.0  # seconds added to every API request
    rate_limit: SlidingWindow | None = None
    faults: FaultInjector | None = None
    webhooks: WebhookSender | None = None
    # Deliver to the URLs registered through /api/webhooks (see sim/registrations.py).
    deliver_registered: bool = False
    # Test-only: accept http and local URLs for webhooks, which Titan refuses.
    allow_local_webhooks: bool = False
    clock: Callable[[], float] = time.time
    # In-process (sim:PATH), the client logs each call already: the simulator's line would
    # only repeat it.
    log_requests: bool = True
    # Serve GET .../picture whatever the world's settings say (`sim serve --picture-getter`).
    picture_getter: bool = False


@dataclass
class Simulator:
    store: WorldStore
    config: SimConfig
    stats: SimStats = field(default_factory=SimStats)

    def __post_init__(self) -> None:
        self.registered = Deliveries(enabled=self.config.deliver_registered)
        access = WorldAccess(
            self.store, self.config.clock, self.config.webhooks, registered=self.registered
        )
        routes = all_routes(
            access,
            stats=self.stats,
            picture_getter=self.config.picture_getter,
            allow_local_webhooks=self.config.allow_local_webhooks,
        )
        starlette = Starlette(
            routes=routes, exception_handlers=dict(ERROR_HANDLERS), lifespan=self._lifespan
        )
        self.asgi = Gateway(
            starlette,
            api_keys=self.config.api_keys,
            latency=self.config.latency,
            rate_limit=self.config.rate_limit,
            faults=self.config.faults,
            stats=self.stats,
            log_requests=self.config.log_requests,
        )

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.close_webhooks()

    async def close_webhooks(self) -> None:
        """Deliver what is queued (for at most WEBHOOK_FLUSH_SECONDS), then stop."""
        senders = [
            *([self.config.webhooks] if self.config.webhooks else []),
            *self.registered.senders,
        ]
        try:
            async with asyncio.timeout(WEBHOOK_FLUSH_SECONDS):
                await asyncio.gather(*(sender.close() for sender in senders))
        except TimeoutError:
            for sender in senders:
                sender.dropped()
