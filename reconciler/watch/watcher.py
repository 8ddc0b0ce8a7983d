"""The watcher: the webhook endpoint, /metrics and /healthz, a queue of groups to check, and
the one worker that re-reads, plans and (with self-heal) applies each, with backoff; healing
pauses while the session is not connected (see `session.py`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.core.groups import DesiredGroup, DesiredState, ListedGroup, LiveState
from reconciler.core.jid import Jid
from reconciler.engine.matching import match_groups
from reconciler.engine.plan import Plan
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.safety import Brakes
from reconciler.engine.service import Clock, Planned, apply_now, plan_now
from reconciler.engine.statefile import StateFile, now_utc
from reconciler.errors import GroupctlError
from reconciler.render.watch import described_action
from reconciler.titan.client import TitanClient
from reconciler.watch.echoes import Echoes
from reconciler.watch.events import (
    GROUP_EVENTS,
    SESSION_STATUS,
    Event,
    MalformedEventError,
    read_event,
)
from reconciler.watch.intake import MAX_BODY, SIGNATURE_HEADER, SeenIds, read_body, signed
from reconciler.watch.metrics import Metrics
from reconciler.watch.reporting import log, report
from reconciler.watch.session import SessionState


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


@dataclass
class _Healing:
    """A group's history of heals, for the backoff."""

    streak: int = 0
    last: float = float("-inf")
    next_allowed: float = float("-inf")


class Watcher:
    """The state of `groupctl watch`. `app` serves the webhooks, `/metrics` and `/healthz`;
    `work()` is the worker; `tick()` queues what is due (resyncs, deferred heals)."""

    def __init__(
        self,
        *,
        desired: DesiredState,
        client: TitanClient,
        secret: str,
        policy: PlanPolicy,
        state_file: StateFile | None = None,
        options: WatchOptions = WatchOptions(),
        reload: Callable[[], DesiredState] | None = None,
        pictures: Path | None = None,
        clock: Callable[[], float] = time.monotonic,
        now: Clock = now_utc,
    ) -> None:
        self.desired = desired
        self.client = client
        self.policy = policy
        self.state_file = state_file if state_file is not None else StateFile()
        self.options = options
        self.metrics = Metrics()
        self._secret = secret.encode()
        self._reload = reload
        self.pictures = pictures  # the config's directory, where picture files are
        self._clock = clock  # for backoff and pacing
        self._now = now  # for the state file's records
        self._bound: dict[Jid, str] = {}  # live group id -> the config's key
        # Group keys to check; None: read the session (a `session.status` without a status,
        # or a paused watch asking whether the session is back).
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queued: set[str | None] = set()
        self._seen = SeenIds()
        self._echoes = Echoes(options.echo_window)  # the webhooks of its own changes
        self._healing: dict[str, _Healing] = {}
        self._deferred: dict[str, float] = {}  # key -> when to check it again
        self._next_resync = float("-inf")
        self._healthy: tuple[float, str | None] = (float("-inf"), None)
        self._health_check = asyncio.Lock()
        self.session = SessionState(policy.session, self.metrics)
        self.stopping = False
        self.busy = False  # a group is being checked (or healed) right now
        self._worker: asyncio.Task[None] | None = None  # when served
        self.app = Starlette(
            routes=[
                Route("/webhooks/titan", self._webhook, methods=["POST"]),
                Route("/metrics", self._metrics, methods=["GET"]),
                Route("/healthz", self._health, methods=["GET"]),
            ],
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Served (uvicorn runs this): the worker and a ticker run beside the routes; SIGHUP
        reloads the config; at shutdown the group in progress is finished first."""
        worker = self._worker = asyncio.create_task(self.work())
        ticker = asyncio.create_task(self._ticking())
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.reload)
        try:
            yield
        finally:
            loop.remove_signal_handler(signal.SIGHUP)
            ticker.cancel()
            self.stopping = True
            if not self.busy:
                worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    async def _ticking(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(1)

    # -- HTTP --------------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        body = await read_body(request)
        if body is None:
            return self._refuse(413, "too_large", f"the body is over {MAX_BODY} bytes")
        if not signed(self._secret, request.headers.get(SIGNATURE_HEADER), body):
            return self._refuse(401, "bad_signature", "missing or wrong X-Webhook-Signature")
        try:
            event = read_event(json.loads(body))
        except (ValueError, RecursionError):  # nested too deeply is no event either
            return self._refuse(400, "malformed", "the body is not JSON")
        except MalformedEventError as exc:
            return self._refuse(400, "malformed", str(exc))
        if self._seen.seen(event.id):
            return self._answer(200, "duplicate")
        return self._answer(*self._event(event))

    def _event(self, event: Event) -> tuple[int, str]:
        if event.session not in (None, self.policy.session):
            return 200, "ignored"  # the same change, as another session saw it
        if event.name == SESSION_STATUS:
            if event.session is None:  # a state without a session is nobody's state
                return 200, "ignored"
            if event.status is None:  # the payload does not say: read the session
                self._enqueue(None)
                return 202, "queued"
            self._session_seen(event.status, event.status_reason)
            return 200, "session_status"
        if event.name not in GROUP_EVENTS or event.group is None:
            return 200, "ignored"
        if self.session.stopped is not None:
            return 200, "healing_stopped"  # no call at all for a banned account
        if event.joined_by_invite:  # the session joined a group: bindings change
            self._next_resync = float("-inf")
            self.tick()
            return 202, "queued"
        key = self._bound.get(event.group)
        if key is None:
            return 200, "ignored"
        if self._echoes.is_echo(event.group, event.changes, self._clock()):
            return 200, "own_change"
        self._enqueue(key)
        return 202, "queued"

    def _session_seen(self, status: str, reason: str | None) -> None:
        change = self.session.seen(status, reason)
        if change == "paused":  # is it back? asked soon, whatever a webhook says
            self._next_resync = min(self._next_resync, self._clock() + self.options.session_poll)
        elif change == "resumed":  # calls go out again, and every group is checked
            self.client.reset_halt()
            self._next_resync = float("-inf")
            self.tick()

    def _refuse(self, status: int, result: str, message: str) -> Response:
        self.metrics.webhooks.labels(result).inc()
        return JSONResponse({"error": message}, status_code=status)

    def _answer(self, status: int, result: str) -> Response:
        self.metrics.webhooks.labels(result).inc()
        return JSONResponse({"status": result}, status_code=status)

    async def _metrics(self, request: Request) -> Response:
        self.metrics.queue.set(self._queue.qsize())
        return Response(generate_latest(self.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def _health(self, request: Request) -> Response:
        if self._worker is not None and self._worker.done():
            return JSONResponse({"status": "unavailable", "error": "the worker stopped"}, 503)
        async with self._health_check:  # at most one API call per 10 s, however often asked
            checked, problem = self._healthy
            if self.session.stopped is None and self._clock() - checked > 10:
                try:
                    info = await self.client.get_session(refresh=True)
                    problem = None
                    self._session_seen(info.status, info.status_reason)
                except GroupctlError as exc:
                    problem = str(exc)
                self._healthy = (self._clock(), problem)
        session = self.session.as_json()
        if self.session.stopped is not None:
            error = f"healing stopped: {self.session.stopped}"
            return JSONResponse({"status": "unavailable", "error": error, "session": session}, 503)
        if problem is not None:
            return JSONResponse({"status": "unavailable", "error": problem}, status_code=503)
        state = "paused" if self.session.paused else "ok"
        return JSONResponse(
            {"status": state, "groups": len(self.desired.groups), "session": session}
        )

    # -- the queue ---------------------------------------------------------------------------

    def _enqueue(self, key: str | None) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)

    def tick(self) -> None:
        """Queue what is due: every group at a resync, deferred heals whose time came. Paused,
        only the session is read (is it back?); banned, nothing."""
        if self.session.stopped is not None:
            return
        now = self._clock()
        if now >= self._next_resync:
            if self.session.paused:
                self._next_resync = now + min(
                    self.options.resync_interval, self.options.session_poll
                )
                self._enqueue(None)
                return
            self._next_resync = now + self.options.resync_interval
            self.metrics.resyncs.inc()
            for group in self.desired.groups:
                self._enqueue(group.key)
        if self.session.paused:
            return
        for key, when in list(self._deferred.items()):
            if now >= when:
                del self._deferred[key]
                self._enqueue(key)

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
        self._next_resync = float("-inf")
        self.tick()

    async def idle(self) -> None:
        """Wait until every queued group has been checked."""
        await self._queue.join()

    async def work(self) -> None:
        """Check queued groups one at a time until `stopping` (the group in progress is
        finished first)."""
        while not self.stopping:
            key = await self._queue.get()
            self._queued.discard(key)
            self.busy = True
            try:
                if key is None:
                    info = await self.client.get_session(refresh=True)
                    self._session_seen(info.status, info.status_reason)
                else:
                    await self._check(key)
            except GroupctlError as exc:
                report("check_failed", group=key, error=str(exc))
            except Exception as exc:  # a bug: said loudly, but one group must not stop watch
                log.exception("checking %s failed unexpectedly", key)
                report("check_failed", group=key, error=f"{type(exc).__name__}: {exc}")
            finally:
                halted = self.client.halted
                if halted is not None:  # the client found the session not connected
                    self._session_seen(halted.session_status, halted.status_reason)
                self.busy = False
                self._queue.task_done()

    # -- one group ---------------------------------------------------------------------------

    async def _check(self, key: str) -> None:
        group = next((g for g in self.desired.groups if g.key == key), None)
        if group is None:
            return  # no longer in the config
        self.metrics.checks.inc()
        # A group found by its subject stays this entry's group when someone renames it:
        # otherwise a rename would look like a group to create.
        pinned = self._pinned(group)
        policy = replace(self.policy, only=frozenset({key}))
        found = await self._plan(pinned, policy)
        if pinned is not self.desired and pinned.groups[0].id not in found.live.groups:
            pinned = self.desired  # gone: found by subject again, or to be created
            found = await self._plan(pinned, policy)
        self._bind(found.live.listed, pinned)
        result, live = found.plan, found.live
        planned = result.groups[0] if result.groups else None
        if planned is None or not (planned.actions or planned.errors):
            return
        self.metrics.drift.labels(key).inc()
        report(
            "drift",
            group=key,
            group_id=planned.group_id,
            subject=planned.subject,
            changes=[described_action(result, action) for action in planned.actions],
            refused=list(planned.errors),
        )
        if not (self.options.self_heal and planned.actions and not planned.errors):
            return
        if planned.group_id is None:
            # Not a drift of a group: a group to create (new in the config, or one this
            # watch never saw). Creating is apply's job, after someone reviewed the plan.
            self.metrics.heals.labels(key, "refused").inc()
            report("heal_refused", group=key, reasons=["creating a group is left to apply"])
            return
        if not self.session.healing:
            self.metrics.heals.labels(key, "paused").inc()
            report("heal_paused", group=key, reason=self.session.why_not)
            return
        await self._heal(key, result, live)

    async def _heal(self, key: str, result: Plan, live: LiveState) -> None:
        now = self._clock()
        healing = self._healing.setdefault(key, _Healing())
        if now < healing.next_allowed:
            self._deferred[key] = healing.next_allowed
            self.metrics.heals.labels(key, "deferred").inc()
            report("heal_deferred", group=key, in_seconds=round(healing.next_allowed - now, 1))
            return
        if result.stopped_by_brakes:
            self.metrics.heals.labels(key, "refused").inc()
            report("heal_refused", group=key, reasons=list(result.brakes))
            return
        healing.streak = healing.streak + 1 if now - healing.last < self.options.quiet else 1
        healing.last = now
        delay = self.options.backoff * 2 ** (healing.streak - 1)
        healing.next_allowed = now + min(delay, self.options.backoff_max)
        self._echoes.expect(result, now, live)
        done = await apply_now(
            self.client,
            result,
            self.state_file,
            pictures=self.pictures,
            brakes=self.options.brakes,
            now=self._now,
        )
        for created in (g.created for g in done.groups if g.created is not None):
            self._bound[created] = key
        outcome = "applied" if done.ok else "failed"
        self.metrics.heals.labels(key, outcome).inc()
        report(f"heal_{outcome}", group=key, summary=done.summary())

    async def _plan(self, desired: DesiredState, policy: PlanPolicy) -> Planned:
        return await plan_now(
            self.client,
            desired,
            policy,
            self.state_file,
            brakes=self.options.brakes,
            now=self._now,
        )

    def _pinned(self, group: DesiredGroup) -> DesiredState:
        """The config with `group` bound to the live group it was found as before, if it has
        no id of its own (only `group` is planned from it)."""
        if group.id is not None:
            return self.desired
        before = next((gid for gid, key in self._bound.items() if key == group.key), None)
        if before is None:
            return self.desired
        return replace(self.desired, groups=(replace(group, id=before),))

    def _bind(self, listed: tuple[ListedGroup, ...], desired: DesiredState) -> None:
        """Which live group is which entry's, after a check of `desired` (or all of them).

        Bindings stick: an entry without id that was found as a live group stays that group's
        while the session is in it, whatever its subject is now (someone renamed it), so no
        later check takes it for a group to create."""
        listed_ids = {entry.id for entry in listed}
        before = {key: gid for gid, key in self._bound.items() if gid in listed_ids}
        matching = match_groups(desired, listed)
        bound = dict(before)
        for group in desired.groups:
            found = matching.bound.get(group.key)
            if group.id is not None or group.key not in before:
                if found is not None:
                    bound[group.key] = found
                else:
                    bound.pop(group.key, None)
        self._bound = {gid: key for key, gid in bound.items()}
