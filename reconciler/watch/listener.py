"""One listener for the watchers of one session or several: the one HTTP app (the webhooks,
/metrics, /healthz), and, served, what runs beside it: each watcher's worker, a ticker that
ticks them all every second, SIGHUP's reload of them all, and their stop together.

Each session is watched as it would be alone (its own client, state file, brakes, echoes,
bindings, session state and worker); what they share is the intake (one secret, the slots, the
event ids seen) and one registry of metrics. A delivery goes to the session its envelope names
(see `routes.py`). /healthz says each session's state; /metrics labels each session's series.

A reload (SIGHUP) reads the config once, and each watcher takes its session's groups. Watching
another account needs a client, a state file and a lock of its own, so the accounts watched
are the ones watch started with: an account the config now gives groups to and watch does not
watch is said to need a restart; one watch watches and the config no longer gives any group
keeps its watcher (its session still read) but checks nothing, and is said to need a restart
too.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any, Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.responses import Response

from reconciler.core.groups import DesiredState
from reconciler.engine.service import Clock
from reconciler.engine.statefile import now_utc
from reconciler.errors import GroupctlError
from reconciler.watch.health import Health, of_sessions
from reconciler.watch.intake import Slots
from reconciler.watch.metrics import Metrics, SessionsMetrics
from reconciler.watch.options import WatchOptions
from reconciler.watch.reporting import report
from reconciler.watch.routes import Desk, Routes


class Watched(Protocol):
    """What the listener needs of one session's watcher (`watcher.Watcher`)."""

    desk: Desk
    metrics: Metrics
    health: Health

    @property
    def name(self) -> str: ...

    @property
    def desired(self) -> DesiredState: ...

    def start(self) -> None: ...

    def beat(self) -> None: ...

    def reload(self) -> None: ...

    def reloaded(self, desired: DesiredState) -> None: ...

    def count_queue(self) -> None: ...

    def begin_stop(self) -> None: ...

    async def stop(self) -> None: ...


class Listener:
    """The app serving `watchers` (one per session, named apart). `reload`, if given, reads
    the config's groups by session for SIGHUP; otherwise each watcher reloads its own."""

    def __init__(
        self,
        watchers: Sequence[Watched],
        *,
        secret: str,
        options: WatchOptions,
        reload: Callable[[], Mapping[str, DesiredState]] | None = None,
        now: Clock = now_utc,
    ) -> None:
        names = [watcher.name for watcher in watchers]
        if not names or len(set(names)) != len(names):
            raise ValueError(f"a listener serves one watcher per session, not {names}")
        self.watchers = tuple(watchers)
        self._reload = reload
        # One session: its own metrics, as a watch of one session always had them.
        self._several = (
            SessionsMetrics({watcher.name: watcher.metrics for watcher in watchers})
            if len(self.watchers) > 1
            else None
        )
        self.registry: CollectorRegistry = (
            self._several.registry if self._several else self.watchers[0].metrics.registry
        )
        reading = self._several.reading if self._several else self.watchers[0].metrics.reading
        routes = Routes(
            secret=secret,
            options=options,
            desks=[watcher.desk for watcher in self.watchers],
            slots=Slots(reading),
            count=self._count,
            metrics_page=self._metrics_page,
            health=self._health,
            now=now,
        )
        self.app = Starlette(routes=routes.all, lifespan=self._lifespan)

    @property
    def groups(self) -> int:
        """How many groups are managed, in all."""
        return sum(len(watcher.desired.groups) for watcher in self.watchers)

    def _count(self, result: str, session: str | None) -> None:
        """A delivery's result, and the session it was handed to (if one)."""
        if self._several is None:
            self.watchers[0].metrics.webhooks.labels(result).inc()
        else:
            self._several.webhooks.labels(session or "", result).inc()

    def _metrics_page(self) -> Response:
        for watcher in self.watchers:
            watcher.count_queue()
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def _health(self) -> tuple[int, dict[str, Any]]:
        if self._several is None:
            return self.watchers[0].health.answer()
        healths = {watcher.name: watcher.health for watcher in self.watchers}
        return of_sessions(healths, self.groups)

    def reload(self) -> None:
        """Read the config again (SIGHUP): each watcher takes its session's groups; a config
        with mistakes is reported, and every watcher keeps the groups it had."""
        if self._reload is None:
            for watcher in self.watchers:
                watcher.reload()
            return
        try:
            parts = self._reload()
        except GroupctlError as exc:
            report("reload_failed", error=str(exc))
            return
        watched = {watcher.name for watcher in self.watchers}
        # A config with no groups at all is a config between edits: nothing to restart for.
        some = any(desired.groups for desired in parts.values())
        for name in sorted(set(parts) - watched):
            if not parts[name].groups:
                continue
            report(
                "restart_needed",
                level=logging.WARNING,
                session=name,
                groups=len(parts[name].groups),
                advice=f"the config has groups of session {name} now: watch takes another"
                " account only when it starts, so they are not watched until a restart",
            )
        for watcher in self.watchers:
            desired = parts.get(watcher.name)
            if desired is None and not some:
                desired = replace(watcher.desired, groups=())
            elif desired is None:
                report(
                    "restart_needed",
                    level=logging.WARNING,
                    session=watcher.name,
                    groups=0,
                    advice=f"the config gives session {watcher.name} no groups any more: none"
                    " is checked from now on; restart watch to let go of the account",
                )
                desired = replace(watcher.desired, groups=())
            watcher.reloaded(desired)

    def begin_stop(self) -> None:
        """A signal to stop came: every watcher winds down (see `Watcher.begin_stop`)."""
        for watcher in self.watchers:
            watcher.begin_stop()

    async def stop(self) -> None:
        """Stop every watcher, at once: the bound of one is the bound of all."""
        await asyncio.gather(*(watcher.stop() for watcher in self.watchers))

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Served (uvicorn runs this): the workers and a ticker (of their queues and of
        /healthz's reads) run beside the routes; SIGHUP reloads the config; at shutdown each
        group in progress is finished first."""
        for watcher in self.watchers:
            watcher.start()
        ticker = asyncio.create_task(self._ticking())
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            ticker.cancel()
            await self.stop()

    async def _ticking(self) -> None:
        while True:
            for watcher in self.watchers:
                watcher.beat()
            await asyncio.sleep(1)
