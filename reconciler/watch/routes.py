"""The HTTP side of `groupctl watch`: POST /webhooks/titan, GET /metrics and GET /healthz.

A delivery is believed only when it is read in time, small enough, signed, recent and new (see
`intake.py`); then its event is triaged: a change to a managed group queues the group for the
worker, unless it is the echo of watch's own change; a `session.status` pauses or resumes
healing. Every delivery is answered at once and counted by what became of it; the work happens
in the worker. /healthz says what `health.py` knows, without calling Titan.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.engine.service import Clock
from reconciler.watch.bindings import Bindings
from reconciler.watch.echoes import Echoes
from reconciler.watch.events import (
    GROUP_EVENTS,
    SESSION_STATUS,
    Event,
    MalformedEventError,
    read_event,
)
from reconciler.watch.health import Health
from reconciler.watch.intake import (
    MAX_DELIVERIES,
    SIGNATURE_HEADER,
    RefusedError,
    SeenIds,
    Slots,
    check_sent,
    parse_json,
    read_body,
    signed,
)
from reconciler.watch.metrics import Metrics
from reconciler.watch.options import WatchOptions
from reconciler.watch.session import SessionState
from reconciler.watch.worker import Worker


class Routes:
    """The endpoints, over the worker they feed."""

    def __init__(
        self,
        *,
        secret: str,
        options: WatchOptions,
        worker: Worker,
        health: Health,
        session: SessionState,
        bindings: Bindings,
        echoes: Echoes,
        metrics: Metrics,
        clock: Callable[[], float],
        now: Clock,
    ) -> None:
        self._secret = secret.encode()
        self._options = options
        self._worker = worker
        self._health = health
        self._session = session
        self._bindings = bindings
        self._echoes = echoes
        self._metrics = metrics
        self._clock = clock  # for echoes
        self._now = now  # for the replay window: Titan's timestamps are wall-clock times
        self._slots = Slots(metrics.reading)
        self._seen = SeenIds()
        self.all = [
            Route("/webhooks/titan", self._webhook, methods=["POST"]),
            Route("/metrics", self._metrics_page, methods=["GET"]),
            Route("/healthz", self._healthz, methods=["GET"]),
        ]

    # -- webhooks ---------------------------------------------------------------------------

    async def _webhook(self, request: Request) -> Response:
        # A slot first: what anonymous peers can make watch hold is bounded by the slots.
        if not self._slots.take():
            busy = f"over {MAX_DELIVERIES} deliveries at once: try again"
            return self._refuse(RefusedError(503, "busy", busy))
        try:
            event = await self._believed(request)
        except RefusedError as refused:
            return self._refuse(refused)
        finally:
            self._slots.give_back()
        if self._seen.seen(event.id):
            return self._answer(200, "duplicate")
        return self._answer(*self._triage(event))

    async def _believed(self, request: Request) -> Event:
        """The delivery's event, once it is read, signed, readable and recent (RefusedError)."""
        body = await read_body(request, within=self._options.read_timeout)
        if not signed(self._secret, request.headers.get(SIGNATURE_HEADER), body):
            raise RefusedError(401, "bad_signature", "missing or wrong X-Webhook-Signature")
        try:
            event = read_event(parse_json(body))
        except MalformedEventError as exc:
            raise RefusedError(400, "malformed", str(exc)) from None
        check_sent(event.sent_at, self._now(), self._options.replay_window)
        return event

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
            if self._worker.unbound(event.group):  # perhaps an entry's not yet checked
                return 202, "queued"
            return 200, "ignored"
        if self._echoes.is_echo(event.group, event.changes, self._clock()):
            return 200, "own_change"
        self._worker.check_soon(key)
        return 202, "queued"

    def _refuse(self, refused: RefusedError) -> Response:
        self._metrics.webhooks.labels(refused.result).inc()
        # Closed after the answer: a body left unread must not keep the connection open, and
        # a peer that was refused gets no second request on it.
        return JSONResponse(
            {"error": refused.message}, status_code=refused.status, headers={"Connection": "close"}
        )

    def _answer(self, status: int, result: str) -> Response:
        self._metrics.webhooks.labels(result).inc()
        return JSONResponse({"status": result}, status_code=status)

    # -- for operators ----------------------------------------------------------------------

    async def _metrics_page(self, request: Request) -> Response:
        self._metrics.queue.set(len(self._worker.queue))
        return Response(generate_latest(self._metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def _healthz(self, request: Request) -> Response:
        status, body = self._health.answer()
        return JSONResponse(body, status_code=status)
