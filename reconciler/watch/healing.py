"""Self-heal: whether a drifted group is written to now, and writing it.

A group to create is left to `apply` (after someone reviewed the plan); nothing is written
while the session is not connected (see `session.py`), nor when the brakes stop the plan. A
group that keeps drifting is healed with exponential backoff, not in a tight loop: a heal that
comes too soon is deferred until it is allowed. Before a heal is applied, the webhooks it will
cause are expected (see `echoes.py`), so that watch does not fight itself.

A heal holds the lock beside the state file, as apply does, and never waits for it: while an
apply holds it, the heal is deferred, and a state file another run saved since the check
means the check is made again (the plan may invite someone that run just invited).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.engine.service import Clock, Planned, apply_now
from reconciler.engine.statefile import StateFile, lock_for
from reconciler.engine.stopping import Stop
from reconciler.errors import RunLockedError
from reconciler.titan.client import TitanClient
from reconciler.watch.bindings import Bindings
from reconciler.watch.echoes import Echoes
from reconciler.watch.metrics import Metrics
from reconciler.watch.options import WatchOptions
from reconciler.watch.reporting import report
from reconciler.watch.session import SessionState


@dataclass
class _History:
    """A group's history of heals, for the backoff."""

    streak: int = 0
    last: float = float("-inf")
    next_allowed: float = float("-inf")

    def healed(self, now: float, options: WatchOptions) -> None:
        """Healed at `now`: the next heal waits twice as long as the last one did, unless the
        group was left alone for `options.quiet`."""
        self.streak = self.streak + 1 if now - self.last < options.quiet else 1
        self.last = now
        delay = options.backoff * 2 ** (self.streak - 1)
        self.next_allowed = now + min(delay, options.backoff_max)


class Healer:
    """Applies the plans of drifted groups, each at most as often as its backoff allows."""

    def __init__(
        self,
        *,
        client: TitanClient,
        state_file: StateFile,
        options: WatchOptions,
        session: SessionState,
        bindings: Bindings,
        echoes: Echoes,
        metrics: Metrics,
        pictures: Path | None,
        clock: Callable[[], float],
        now: Clock,
    ) -> None:
        self._client = client
        self._state_file = state_file
        self._options = options
        self._session = session
        self._bindings = bindings
        self._echoes = echoes
        self._metrics = metrics
        self.pictures = pictures  # the config's directory, where picture files are
        self._clock = clock  # for the backoff
        self._now = now  # for the state file's records
        self._history: dict[str, _History] = {}
        self._deferred: dict[str, float] = {}  # key -> when its heal is allowed
        self._stop: Stop | None = None  # the heal in progress's, for a shutdown to wind down
        self._stopping: str | None = None  # why watch is stopping, once it is: no new heal

    @property
    def healing(self) -> bool:
        """Whether a heal is changing things right now."""
        return self._stop is not None

    def wind_down(self, reason: str, grace: float) -> None:
        """watch is stopping: no heal starts from now on, and the heal in progress, if any,
        starts nothing new, gives its calls in flight `grace` seconds, saves the state file
        and reports, as apply does at SIGTERM (see `engine.stopping`)."""
        if self._stopping is None:
            self._stopping = reason
            if self._stop is not None:
                self._stop.grace = grace
                self._stop.request(reason)

    def hurry(self) -> None:
        """watch is told again to stop: the heal in progress cuts its calls in flight short
        now (its outcome is still saved and reported)."""
        if self._stop is not None and self._stopping is not None:
            self._stop.request(self._stopping)

    def due(self, now: float) -> list[str]:
        """The groups whose deferred heal is allowed by `now`, each given once."""
        due = [key for key, when in self._deferred.items() if now >= when]
        for key in due:
            del self._deferred[key]
        return due

    async def heal(self, key: str, found: Planned) -> None:
        """Apply `found.plan`, the drift of the one group `key`, if it may be written now."""
        if found.plan.groups[0].group_id is None:
            # Not a drift of a group: a group to create (new in the config, or one this
            # watch never saw). Creating is apply's job, after someone reviewed the plan.
            self._outcome(key, "refused", reasons=["creating a group is left to apply"])
            return
        if self._stopping is not None:
            self._outcome(key, "stopped", reason=self._stopping)
            return
        if not self._session.healing:
            self._outcome(key, "paused", reason=self._session.why_not)
            return
        now = self._clock()
        history = self._history.setdefault(key, _History())
        if now < history.next_allowed:
            self._deferred[key] = history.next_allowed
            self._outcome(key, "deferred", in_seconds=round(history.next_allowed - now, 1))
            return
        if found.plan.stopped_by_brakes:
            self._outcome(key, "refused", reasons=list(found.plan.brakes))
            return
        path = self._state_file.path
        lock = lock_for(path, holder="groupctl watch --self-heal") if path else None
        try:
            async with lock.held(0) if lock else contextlib.nullcontext():
                if self._state_file.refresh():
                    self._deferred[key] = now
                    self._outcome(key, "deferred", reason="another run saved the state file")
                    return
                if self._stopping is not None:  # a guard: nothing above waits, today
                    self._outcome(key, "stopped", reason=self._stopping)
                    return
                history.healed(now, self._options)
                self._echoes.expect(found.plan, now, found.live)
                self._stop = stop = Stop()
                stop.armed = True  # a shutdown from now on winds the heal down
                try:
                    done = await apply_now(
                        self._client,
                        found.plan,
                        self._state_file,
                        pictures=self.pictures,
                        brakes=self._options.brakes,
                        now=self._now,
                        stop=stop,
                    )
                finally:
                    stop.close()
                    self._stop = None
        except RunLockedError as exc:
            self._deferred[key] = now + self._options.backoff
            self._outcome(key, "deferred", reason=str(exc), in_seconds=self._options.backoff)
            return
        for created in (g.created for g in done.groups if g.created is not None):
            self._bindings.created(created, key)
        self._outcome(key, "applied" if done.ok else "failed", summary=done.summary())

    def _outcome(self, key: str, outcome: str, **fields: Any) -> None:
        """What became of a heal: counted by group and outcome, reported as `heal_<outcome>`."""
        self._metrics.heals.labels(key, outcome).inc()
        report(f"heal_{outcome}", group=key, **fields)
