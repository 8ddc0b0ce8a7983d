"""How `groupctl watch` behaves: self-heal or not, how often everything is checked again, the
brakes a heal is held to, the pacing of heals and session reads, and how long a delivery may
take to arrive and how old it may be (times in seconds)."""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.engine.safety import Brakes

# Served, the session is read this often for /healthz, whether or not anyone asks (each read
# is one call against the key's rate limit): `watch --health-interval`'s default.
HEALTH_INTERVAL = 10.0


@dataclass(frozen=True, slots=True)
class WatchOptions:
    self_heal: bool = False
    resync_interval: float = 15 * 60.0
    brakes: Brakes = Brakes()
    backoff: float = 2.0  # seconds before a group healed once may be healed again...
    backoff_max: float = 3600.0  # ...doubling each time it drifts again, up to this
    quiet: float = 3600.0  # a group left alone this long starts again from `backoff`
    echo_window: float = 300.0  # how long the webhooks of its own changes are expected
    session_poll: float = 60.0  # while paused, the session is read this often (at most)
    health_interval: float = HEALTH_INTERVAL  # see above
    # A request's head, then a delivery's body, must each arrive within this. Titan's are
    # small and sent from a data centre; a peer this slow is holding a connection open.
    read_timeout: float = 10.0
    # Deliveries sent longer ago than this (or as far ahead: a wrong clock) are refused. As
    # Stripe and Slack do, 5 minutes: well over the retries watch registers (3 attempts, 5 s
    # apart and doubling: under a minute) plus clocks a little apart.
    replay_window: float = 300.0
