"""The worker of `groupctl watch`: a queue of groups to check, what is due when (a resync of
every group, deferred heals, a read of the session while it is not connected), and the check
of one group: re-read and plan it through the engine's service, report its drift, heal it.

One worker checks one group at a time, so that two heals of a group never overlap and the API
sees watch as one careful client.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Callable
from dataclasses import replace

from reconciler.core.groups import DesiredState
from reconciler.core.jid import Jid
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.service import Clock, Planned, plan_now
from reconciler.engine.statefile import StateFile
from reconciler.engine.stopping import STOP_GRACE
from reconciler.errors import GroupctlError
from reconciler.render.watch import described_action
from reconciler.titan.client import TitanClient
from reconciler.watch.bindings import Bindings
from reconciler.watch.healing import Healer
from reconciler.watch.metrics import Metrics
from reconciler.watch.options import WatchOptions
from reconciler.watch.reporting import log, report
from reconciler.watch.session import SessionState

MAX_WAITING = 10_000  # groups changed before they were bound, kept for their binding check
_STOPPING = "interrupted (watch is stopping)"  # what a heal cut short by a shutdown says
# At a shutdown, the seconds a heal gets after its grace (its calls in flight cut short by
# then), to save the state file and report.
_WIND_DOWN = 2.0


class CheckQueue:
    """Group keys waiting to be checked, each at most once however often it is asked for;
    None stands for a read of the session (a `session.status` without a status, or a paused
    watch asking whether the session is back)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queued: set[str | None] = set()

    def __len__(self) -> int:
        return self._queue.qsize()

    def put(self, key: str | None) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    async def take(self) -> str | None:
        """The next to check; from now on it may be queued again."""
        key = await self._queue.get()
        self._queued.discard(key)
        return key

    def done(self) -> None:
        """The one taken last has been checked."""
        self._queue.task_done()

    async def join(self) -> None:
        """Wait until every queued one has been checked."""
        await self._queue.join()


class Worker:
    """Checks the groups of `desired` one at a time, as they are queued and as they are due."""

    def __init__(
        self,
        *,
        desired: DesiredState,
        client: TitanClient,
        policy: PlanPolicy,
        state_file: StateFile,
        options: WatchOptions,
        session: SessionState,
        bindings: Bindings,
        healer: Healer,
        metrics: Metrics,
        clock: Callable[[], float],
        now: Clock,
    ) -> None:
        self._desired = desired
        self._unchecked = {g.key for g in desired.groups}  # not yet bound (if found) by a check
        self._waiting: set[Jid] = set()  # groups changed before every entry was checked
        self._client = client
        self._policy = policy
        self._state_file = state_file
        self._options = options
        self._session = session
        self._bindings = bindings
        self._healer = healer
        self._metrics = metrics
        self._clock = clock  # for resyncs and pacing
        self._now = now  # for the state file's records
        self.queue = CheckQueue()
        self._next_resync = float("-inf")
        self.stopping = False
        self._stop_began: float | None = None  # the event loop's time of begin_stop()
        self._grace = STOP_GRACE  # what begin_stop() gave the group in progress
        self.busy = False  # a group is being checked (or healed) right now
        self._task: asyncio.Task[None] | None = None  # when started

    @property
    def desired(self) -> DesiredState:
        return self._desired

    @desired.setter
    def desired(self, desired: DesiredState) -> None:
        self._desired = desired
        self._unchecked = {g.key for g in desired.groups}  # bindings may change with it

    # -- what to check, and when ------------------------------------------------------------

    def check_soon(self, key: str) -> None:
        self.queue.put(key)

    def unbound(self, group: Jid) -> bool:
        """A change of a group no entry is known to have: whether it may yet be one entry's
        (some entry has not been checked since watch started or reloaded). If so, the group
        is checked as soon as the check that binds it is done: a change made while that
        check was reading would otherwise be missed until the next resync."""
        if not self._unchecked or len(self._waiting) >= MAX_WAITING:
            return False
        self._waiting.add(group)
        return True

    def read_session_soon(self) -> None:
        self.queue.put(None)

    def tick(self) -> None:
        """Queue what is due: every group at a resync, deferred heals whose time came. Paused,
        only the session is read (is it back?); banned, nothing."""
        if self._session.stopped is not None:
            return
        now = self._clock()
        if now >= self._next_resync:
            if self._session.paused:
                self._next_resync = now + min(
                    self._options.resync_interval, self._options.session_poll
                )
                self.read_session_soon()
                return
            self._next_resync = now + self._options.resync_interval
            self._metrics.resyncs.inc()
            for group in self.desired.groups:
                self.check_soon(group.key)
        if self._session.paused:
            return
        for key in self._healer.due(now):
            self.check_soon(key)

    def resync_now(self) -> None:
        """Check every group now (the config or the session's groups changed)."""
        self._next_resync = float("-inf")
        self.tick()

    def session_seen(self, status: str, reason: str | None) -> None:
        """The session was found in `status`, by a webhook, /healthz or a call."""
        change = self._session.seen(status, reason)
        if change == "paused":  # is it back? asked soon, whatever a webhook says
            self._next_resync = min(self._next_resync, self._clock() + self._options.session_poll)
        elif change == "resumed":  # calls go out again, and every group is checked
            self._client.reset_halt()
            self.resync_now()

    async def read_session(self) -> None:
        """Read the session's state from Titan now (a GroupctlError when it cannot be read)."""
        info = await self._client.get_session(refresh=True)
        self.session_seen(info.status, info.status_reason)

    # -- the loop ---------------------------------------------------------------------------

    def start(self, context: contextvars.Context | None = None) -> None:
        """Run `work()` in a task of its own (while served), in `context` if given."""
        self._task = asyncio.create_task(self.work(), context=context)

    @property
    def stopped(self) -> bool:
        """Whether the started worker has stopped (it should not before `begin_stop()`)."""
        return self._task is not None and self._task.done()

    def begin_stop(self, reason: str = _STOPPING, grace: float = STOP_GRACE) -> None:
        """Stop taking groups, and start no heal, from now on (at the signal, while the
        server still answers the connections it has); the heal in progress winds down, its
        calls in flight given `grace` seconds from now. Call it in the worker's event loop."""
        if self._stop_began is None:
            self.stopping = True
            self._stop_began, self._grace = asyncio.get_running_loop().time(), grace
            self._healer.wind_down(reason, grace)

    def hurry(self) -> None:
        """Told again to stop: the heal in progress cuts its calls in flight short now."""
        self._healer.hurry()

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop the started worker. The group in progress gets the grace of `begin_stop`
        (`grace` if it was not called): a heal is wound down (nothing new is sent, the calls
        in flight finish or are cut short, the state file is saved, the outcome reported); a
        check still reading after that, say retrying an API that is gone, is cancelled (a
        read changes nothing), so that a shutdown never waits on the API: Docker kills 10 s
        after SIGTERM."""
        self.begin_stop(grace=grace)
        if self._task is None:
            return
        if self.busy:
            assert self._stop_began is not None
            left = self._stop_began + self._grace - asyncio.get_running_loop().time()
            await asyncio.wait({self._task}, timeout=max(left, 0))
            if self._healer.healing:  # cut short by now: the time to save and report
                await asyncio.wait({self._task}, timeout=_WIND_DOWN)
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def idle(self) -> None:
        """Wait until every queued group has been checked."""
        await self.queue.join()

    async def work(self) -> None:
        """Check queued groups one at a time until `stopping` (the group in progress is
        finished first)."""
        while not self.stopping:
            key = await self.queue.take()
            if self.stopping:  # taken after the signal: left for the next start
                self.queue.done()
                break
            self.busy = True
            try:
                if key is None:
                    await self.read_session()
                else:
                    await self._check(key)
            except GroupctlError as exc:
                report("check_failed", group=key, error=str(exc))
            except asyncio.CancelledError:
                if self.stopping:  # see stop(): still reading when the grace ran out
                    report("check_stopped", group=key, reason=_STOPPING)
                raise
            except Exception as exc:  # a bug: said loudly, but one group must not stop watch
                log.exception(
                    "checking %s of session %s failed unexpectedly", key, self._session.name
                )
                report("check_failed", group=key, error=f"{type(exc).__name__}: {exc}")
            finally:
                if key is not None:  # checked, or failed: either way not waited for again
                    self._unchecked.discard(key)
                    self._check_waiting()
                halted = self._client.halted
                if halted is not None:  # the client found the session not connected
                    self.session_seen(halted.session_status, halted.status_reason)
                self.busy = False
                self.queue.done()

    # -- one group --------------------------------------------------------------------------

    def _check_waiting(self) -> None:
        """Queue the groups changed before they were bound, now that they are; forget them
        once every entry has been checked (they are no entry's)."""
        for group in list(self._waiting):
            key = self._bindings.key_of(group)
            if key is not None:
                self._waiting.discard(group)
                self.check_soon(key)
        if not self._unchecked:
            self._waiting.clear()

    async def _check(self, key: str) -> None:
        group = next((g for g in self.desired.groups if g.key == key), None)
        if group is None:
            return  # no longer in the config
        self._metrics.checks.inc()
        # A group found by its subject stays this entry's group when someone renames it:
        # otherwise a rename would look like a group to create.
        pinned = self._bindings.pinned(self.desired, group)
        policy = replace(self._policy, only=frozenset({key}))
        found = await self._plan(pinned, policy)
        if pinned is not self.desired and pinned.groups[0].id not in found.live.groups:
            pinned = self.desired  # gone: found by subject again, or to be created
            found = await self._plan(pinned, policy)
        self._bindings.bind(found.live.listed, pinned)
        planned = found.plan.groups[0] if found.plan.groups else None
        if planned is None or not (planned.actions or planned.errors):
            return
        self._metrics.drift.labels(key).inc()
        report(
            "drift",
            group=key,
            group_id=planned.group_id,
            subject=planned.subject,
            changes=[described_action(found.plan, action) for action in planned.actions],
            refused=list(planned.errors),
        )
        if self._options.self_heal and planned.actions and not planned.errors:
            await self._healer.heal(key, found)

    async def _plan(self, desired: DesiredState, policy: PlanPolicy) -> Planned:
        return await plan_now(
            self._client,
            desired,
            policy,
            self._state_file,
            brakes=self._options.brakes,
            now=self._now,
        )
