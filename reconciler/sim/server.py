"""Serve the simulator over real HTTP with uvicorn."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from reconciler.errors import UsageError
from reconciler.sim.app import SimConfig, Simulator
from reconciler.sim.gateway import (
    ALL_SCOPES,
    READ_SCOPE,
    SESSIONS_SCOPE,
    ConnectionDropped,
    FaultInjector,
    SlidingWindow,
    parse_fault_rates,
)
from reconciler.sim.store import WorldStore
from reconciler.sim.webhooks import WebhookSender
from reconciler.util.rates import parse_rate
from reconciler.util.serving import GracefulServer


class _HideDroppedConnections(logging.Filter):
    """A dropped connection is an injected fault, not an application error worth a traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def build_simulator(
    state_path: Path,
    *,
    api_key: str,
    read_only_key: str | None = None,
    latency_ms: int = 0,
    fault_rate: str = "0",
    seed: int | None = None,
    rate_limit: str = "unlimited",
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    picture_getter: bool = False,
    allow_local_webhooks: bool = False,
) -> Simulator:
    """A simulator configured as `groupctl sim serve`'s flags say."""
    if webhook_url and not webhook_secret:
        raise UsageError("--webhook-url needs --webhook-secret (or TITAN_WEBHOOK_SECRET)")
    keys = {api_key: ALL_SCOPES}
    if read_only_key == api_key:
        raise UsageError("--read-only-key must differ from --api-key")
    if read_only_key:
        keys[read_only_key] = frozenset({READ_SCOPE, SESSIONS_SCOPE})
    rates = parse_fault_rates(fault_rate)
    window = parse_rate(rate_limit)
    config = SimConfig(
        api_keys=keys,
        latency=latency_ms / 1000,
        rate_limit=SlidingWindow(window) if window else None,
        faults=FaultInjector(rates, seed) if any(rates.values()) else None,
        webhooks=WebhookSender(webhook_url, webhook_secret or "") if webhook_url else None,
        picture_getter=picture_getter,
        deliver_registered=True,
        allow_local_webhooks=allow_local_webhooks,
    )
    return Simulator(WorldStore.open(state_path), config)


def make_server(simulator: Simulator) -> uvicorn.Server:
    """A uvicorn server for the simulator, quiet about the connections it drops on purpose."""
    logging.getLogger("uvicorn.error").addFilter(_HideDroppedConnections())
    config = uvicorn.Config(
        simulator.asgi, log_config=None, access_log=False, timeout_graceful_shutdown=5
    )
    return GracefulServer(config)


def serve(simulator: Simulator, sock: socket.socket, *, on_ready: Callable[[], None]) -> None:
    """Serve until SIGINT/SIGTERM. The socket already listens, so clients may connect at once."""
    server = make_server(simulator)
    on_ready()
    server.run(sockets=[sock])
