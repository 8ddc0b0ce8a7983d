"""The HTTP side of `groupctl watch`: POST /webhooks/titan, GET /metrics and GET /healthz.

A delivery is believed only when it is small enough, signed and new (see `intake.py`); then its
event is triaged: a change to a managed group queues the group for the worker, unless it is the
echo of watch's own change; a `session.status` pauses or resumes healing. Every delivery is
answered at once and counted by what became of it; the work happens in the worker.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.errors import GroupctlError
from reconciler.watch.bindings import Bindings
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
from reconciler.watch.session import SessionState
from reconciler.watch.worker import Worker

_HEALTH_CHECK_EVERY = 10.0  # seconds: at most one API call per this, however often asked


class Routes:
    """The endpoints, over the worker they feed."""

    def __init__(
        self,
        *,
        secret: str,
        worker: Worker,
        session: SessionState,
        bindings: Bindings,
        echoes: Echoes,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self._secret = secret.encode()
        self._worker = worker
        self._session = session
        self._bindings = bindings
        self._echoes = echoes
        self._metrics = metrics
        self._clock = clock
        self._seen = SeenIds()
        self._healthy: tuple[float, str | None] = (float("-inf"), None)
        self._health_check = asyncio.Lock()
        self.all = [
            Route("/webhooks/titan", self._webhook, methods=["POST"]),
            Route("/metrics", self._metrics_page, methods=["GET"]),
            Route("/healthz", self._health, methods=["GET"]),
        ]

    # -- webhooks ---------------------------------------------------------------------------

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
        return self._answer(*self._triage(event))

    def _triage(self, event: Event) -> tuple[int, str]:
        """What becomes of a believed event: its answer's status, and the result counted."""
        if event.session not in (None, self._session.name):
            return 200, "ignored"  # the same change, as another session saw it
        if event.name == SESSION_STATUS:
            if event.session is None:  # a state without a session is nobody's state
                return 200, "ignored"
            if event.status is None:  # the payload does not say: read the session
                self._worker.read_session_soon()
                return 202, "queued"
            self._worker.session_seen(event.status, event.status_reason)
            return 200, "session_status"
        if event.name not in GROUP_EVENTS or event.group is None:
            return 200, "ignored"
        if self._session.stopped is not None:
            return 200, "healing_stopped"  # no call at all for a banned account
        if event.joined_by_invite:  # the session joined a group: bindings change
            self._worker.resync_now()
            return 202, "queued"
        key = self._bindings.key_of(event.group)
        if key is None:
            return 200, "ignored"
        if self._echoes.is_echo(event.group, event.changes, self._clock()):
            return 200, "own_change"
        self._worker.check_soon(key)
        return 202, "queued"

    def _refuse(self, status: int, result: str, message: str) -> Response:
        self._metrics.webhooks.labels(result).inc()
        return JSONResponse({"error": message}, status_code=status)

    def _answer(self, status: int, result: str) -> Response:
        self._metrics.webhooks.labels(result).inc()
        return JSONResponse({"status": result}, status_code=status)

    # -- for operators ----------------------------------------------------------------------

    async def _metrics_page(self, request: Request) -> Response:
        self._metrics.queue.set(len(self._worker.queue))
        return Response(generate_latest(self._metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def _health(self, request: Request) -> Response:
        if self._worker.stopped:
            return JSONResponse({"status": "unavailable", "error": "the worker stopped"}, 503)
        async with self._health_check:
            checked, problem = self._healthy
            if self._session.stopped is None and self._clock() - checked > _HEALTH_CHECK_EVERY:
                try:
                    await self._worker.read_session()
                    problem = None
                except GroupctlError as exc:
                    problem = str(exc)
                self._healthy = (self._clock(), problem)
        session = self._session.as_json()
        if self._session.stopped is not None:
            error = f"healing stopped: {self._session.stopped}"
            return JSONResponse({"status": "unavailable", "error": error, "session": session}, 503)
        if problem is not None:
            return JSONResponse({"status": "unavailable", "error": problem}, status_code=503)
        state = "paused" if self._session.paused else "ok"
        groups = len(self._worker.desired.groups)
        return JSONResponse({"status": state, "groups": groups, "session": session})
