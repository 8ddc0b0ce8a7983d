"""The watcher: what `groupctl watch` serves and runs, composed of the routes (`routes.py`),
the worker and its queue (`worker.py`), the heals (`healing.py`), the bindings of live groups
to config entries (`bindings.py`), the echoes of its own changes (`echoes.py`), the session's
state (`session.py`) and its health (`health.py`); here too, served, the ticker and SIGHUP's
reload."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette

from reconciler.core.groups import DesiredState
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.service import Clock
from reconciler.engine.statefile import StateFile, now_utc
from reconciler.errors import GroupctlError
from reconciler.titan.client import TitanClient
from reconciler.watch.bindings import Bindings
from reconciler.watch.echoes import Echoes
from reconciler.watch.healing import Healer
from reconciler.watch.health import Health
from reconciler.watch.metrics import Metrics
from reconciler.watch.options import WatchOptions
from reconciler.watch.reporting import report
from reconciler.watch.routes import Routes
from reconciler.watch.session import SessionState
from reconciler.watch.worker import Worker

__all__ = ["WatchOptions", "Watcher"]


class Watcher:
    """The state of `groupctl watch`. `app` serves the webhooks, `/metrics` and `/healthz`;
    `work()` is the worker; `tick()` queues what is due (resyncs, deferred heals); `health`
    reads the session for /healthz when its ticks (served, every second) say it is due."""

    def __init__(
        self,
        *,
        desired: DesiredState,
        client: TitanClient,
        secret: str,
        policy: PlanPolicy,
        pictures: Path | None,
        state_file: StateFile | None = None,
        options: WatchOptions = WatchOptions(),
        reload: Callable[[], DesiredState] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Clock = now_utc,
    ) -> None:
        self.client = client
        self.policy = policy
        self.state_file = state_file if state_file is not None else StateFile()
        self.options = options
        self.metrics = Metrics()
        self.session = SessionState(policy.session, self.metrics)
        self._reload = reload
        bindings = Bindings()
        echoes = Echoes(options.echo_window)  # the webhooks of its own changes
        self._healer = Healer(
            client=client,
            state_file=self.state_file,
            options=options,
            session=self.session,
            bindings=bindings,
            echoes=echoes,
            metrics=self.metrics,
            pictures=pictures,
            clock=clock,
            now=now,
        )
        self._worker = Worker(
            desired=desired,
            client=client,
            policy=policy,
            state_file=self.state_file,
            options=options,
            session=self.session,
            bindings=bindings,
            healer=self._healer,
            metrics=self.metrics,
            clock=clock,
            now=now,
        )
        self.health = Health(
            worker=self._worker,
            session=self.session,
            clock=clock,
            interval=options.health_interval,
        )
        routes = Routes(
            secret=secret,
            options=options,
            worker=self._worker,
            health=self.health,
            session=self.session,
            bindings=bindings,
            echoes=echoes,
            metrics=self.metrics,
            clock=clock,
            now=now,
        )
        self.app = Starlette(routes=routes.all, lifespan=self._lifespan)

    # Kept by the worker, which checks the config's groups; read and set here (SIGHUP).

    @property
    def desired(self) -> DesiredState:
        return self._worker.desired

    @desired.setter
    def desired(self, desired: DesiredState) -> None:
        self._worker.desired = desired

    def tick(self) -> None:
        """Queue what is due: every group at a resync, deferred heals whose time came. Paused,
        only the session is read (is it back?); banned, nothing."""
        self._worker.tick()

    async def work(self) -> None:
        """Check queued groups one at a time until `stopping` (the group in progress is
        finished first)."""
        await self._worker.work()

    async def idle(self) -> None:
        """Wait until every queued group has been checked."""
        await self._worker.idle()

    def reload(self) -> None:
        """Read the config again (SIGHUP); a config with mistakes is reported, the old one kept."""
        if self._reload is None:
            return
        try:
            self.desired = self._reload()
        except GroupctlError as exc:
            report("reload_failed", error=str(exc))
            return
        report("reloaded", groups=len(self.desired.groups))
        self._worker.resync_now()

    def begin_stop(self) -> None:
        """A signal to stop came: no heal starts from now on, the one in progress winds down
        (the server meanwhile answers the connections it has; see Worker.stop). A second
        signal cuts the heal's calls in flight short at once; it still saves and reports."""
        if self._worker.stopping:
            self._worker.hurry()
        else:
            self._worker.begin_stop()

    async def stop(self) -> None:
        """Stop the background reads and the worker (see Worker.stop): at the end of serving,
        and again after it, for a server that ended without its shutdown (a second Ctrl-C).
        Stopping twice is harmless."""
        await self.health.stop()
        await self._worker.stop()

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Served (uvicorn runs this): the worker and a ticker (of the queue and of /healthz's
        reads) run beside the routes; SIGHUP reloads the config; at shutdown the group in
        progress is finished first."""
        self._worker.start()
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
            self.tick()
            self.health.tick()
            await asyncio.sleep(1)
