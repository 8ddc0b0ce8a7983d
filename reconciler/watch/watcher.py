"""The watcher: what `groupctl watch` serves and runs, composed of the routes (`routes.py`),
the worker and its queue (`worker.py`), the heals (`healing.py`), the bindings of live groups
to config entries (`bindings.py`), the echoes of its own changes (`echoes.py`), the session's
state (`session.py`) and its health (`health.py`). One watcher watches one session; the
`listener.py` serves one or several (the HTTP app, the ticker, SIGHUP's reload)."""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable
from functools import cached_property
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
from reconciler.watch.listener import Listener
from reconciler.watch.metrics import Metrics
from reconciler.watch.options import WatchOptions
from reconciler.watch.reporting import about_session, report
from reconciler.watch.routes import Desk
from reconciler.watch.session import SessionState
from reconciler.watch.worker import Worker

__all__ = ["WatchOptions", "Watcher"]


class Watcher:
    """The state of `groupctl watch` for one session. `app` serves its webhooks, `/metrics`
    and `/healthz` (a watch of several sessions serves them all with one `Listener` instead);
    `work()` is the worker; `tick()` queues what is due (resyncs, deferred heals); `health`
    reads the session for /healthz when its ticks (served, every second) say it is due.
    `several`: one of several sessions watched, whose reports name it."""

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
        several: bool = False,
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
        self.desk = Desk(
            worker=self._worker,
            session=self.session,
            bindings=bindings,
            echoes=echoes,
            clock=clock,
        )
        self._secret = secret
        self._now = now
        self._several = several

    @cached_property
    def app(self) -> Starlette:
        """The HTTP app of a watch of this session alone."""
        return Listener([self], secret=self._secret, options=self.options, now=self._now).app

    @property
    def name(self) -> str:
        """The session watched."""
        return self.session.name

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

    def beat(self) -> None:
        """What the ticker does every second while served: `tick()`, and /healthz's read of
        the session when one is due."""
        self.tick()
        self.health.tick()

    def start(self) -> None:
        """Run the worker in a task of its own (while served)."""
        context = contextvars.copy_context()
        if self._several:
            context.run(about_session, self.name)
        self._worker.start(context)

    async def work(self) -> None:
        """Check queued groups one at a time until `stopping` (the group in progress is
        finished first)."""
        if self._several:
            about_session(self.name)
        await self._worker.work()

    async def idle(self) -> None:
        """Wait until every queued group has been checked."""
        await self._worker.idle()

    def count_queue(self) -> None:
        """Show how many groups wait to be checked (for /metrics)."""
        self.metrics.queue.set(len(self._worker.queue))

    def reload(self) -> None:
        """Read the config again (SIGHUP); a config with mistakes is reported, the old one kept."""
        if self._reload is None:
            return
        try:
            desired = self._reload()
        except GroupctlError as exc:
            report("reload_failed", error=str(exc))
            return
        self.reloaded(desired)

    def reloaded(self, desired: DesiredState) -> None:
        """The config was read again: these are the session's groups now, each checked now."""
        self.desired = desired
        if self._several:
            report("reloaded", session=self.name, groups=len(self.desired.groups))
        else:
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
