"""A faithful Titan simulator: WhatsApp's group rules behind Titan's HTTP API.

It is a real implementation of titan-api.md, not a mock: the end-to-end and contract tests run
the client against it, in-process (`SimTransport`) and over a socket (`serve`). It imports
nothing of the client, so the two can only agree through the documented API.

- `state` the world file's shape, `store` its persistence (`WorldStore`).
- `world` the world in memory: indexes, lookups, sessions' states, the webhook events it queues.
- `rules/` WhatsApp's rules over it: groups, participants, invites, messages.
- `app` the application (`Simulator`, `SimConfig`); `routes/` one module a resource;
  `requests` the request bodies Titan documents; `answers` Titan's response shapes;
  `access` how routes read and write the world; `pictures` picture uploads.
- `gateway` keys and scopes, rate limit, latency and injected faults; `webhooks` signed
  deliveries; `registrations` webhooks registered through the API.
- `server` uvicorn (`groupctl sim serve`); `transport` the in-process httpx transport.
"""

from reconciler.sim.app import SimConfig, Simulator
from reconciler.sim.gateway import ALL_SCOPES
from reconciler.sim.server import build_simulator, serve
from reconciler.sim.state import WorldState
from reconciler.sim.store import WorldStore
from reconciler.sim.transport import SimTransport

__all__ = [
    "ALL_SCOPES",
    "SimConfig",
    "SimTransport",
    "Simulator",
    "WorldState",
    "WorldStore",
    "build_simulator",
    "serve",
]
