"""The HTTP side of `groupctl watch`: POST /webhooks/titan, GET /metrics and GET /healthz.

A delivery is believed only when it is read in time, small enough, signed, recent and new (see
`intake.py`); then it is handed to the desk of the session its envelope names (a session not
watched: ignored), and triaged there: a change to a managed group queues the group for that
session's worker, unless it is the echo of watch's own change; a `session.status` pauses or
resumes that session's healing. A group event that names no session goes to the session whose
bindings hold the group; held by none, to every session (each checks it only once the group
turns out to be one of its entries). Every delivery is answered at once and counted by what
became of it; the work happens in the workers. /healthz says what `health.py` knows, without
calling Titan.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.core.jid import Jid
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
from reconciler.watch.options import WatchOptions
from reconciler.watch.session import SessionState
from reconciler.watch.worker import Worker

Answer = tuple[int, str]  # a delivery's status, and the result counted


class Desk:
    """One session's side of the intake: what becomes of a believed event about it."""

    def __init__(
        self,
        *,
        worker: Worker,
        session: SessionState,
        bindings: Bindings,
        echoes: Echoes,
        clock: Callable[[], float],
    ) -> None:
        self._worker = worker
        self._session = session
        self._bindings = bindings
        self._echoes = echoes
        self._clock = clock  # for echoes

    @property
    def name(self) -> str:
        return self._session.name

    def holds(self, group: Jid) -> bool:
        """Whether the group is one of this session's entries, as far as it knows."""
        return self._bindings.key_of(group) is not None

    def triage(self, event: Event) -> Answer:
        """What becomes of an event handed to this session (a `session.status` only when it
        names this session)."""
        if event.name == SESSION_STATUS:
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


class Routes:
    """The endpoints, over the desks of the sessions watched. `count` counts a delivery's
    result (and the session it was handed to, if one); `metrics_page` and `health` answer
    /metrics and /healthz."""

    def __init__(
        self,
        *,
        secret: str,
        options: WatchOptions,
        desks: Sequence[Desk],
        slots: Slots,
        count: Callable[[str, str | None], None],
        metrics_page: Callable[[], Response],
        health: Callable[[], tuple[int, dict[str, Any]]],
        now: Clock,
    ) -> None:
        self._secret = secret.encode()
        self._options = options
        self._desks = tuple(desks)
        self._by_name = {desk.name: desk for desk in desks}
        self._slots = slots
        self._count = count
        self._metrics_page = metrics_page
        self._health = health
        self._now = now  # for the replay window: Titan's timestamps are wall-clock times
        self._seen = SeenIds()
        self.all = [
            Route("/webhooks/titan", self._webhook, methods=["POST"]),
            Route("/metrics", self._metrics, methods=["GET"]),
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
        # One id per session: each account's deliveries are its own, and another account's
        # event of the same id (a change both saw) must not swallow this one.
        if self._seen.seen(f"{event.session or ''}\0{event.id}"):
            return self._answer(200, "duplicate")
        desks = self._desks_of(event)
        return self._answer(*_together([desk.triage(event) for desk in desks]), desks)

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

    def _desks_of(self, event: Event) -> list[Desk]:
        """The sessions a believed event is for: the one it names (none, if not watched: the
        same change, as another session saw it); for a group event that names none, the
        session whose entry the group is, else every session (one may not have bound it yet)."""
        if event.session is not None:
            desk = self._by_name.get(event.session)
            return [desk] if desk is not None else []
        if event.name not in GROUP_EVENTS or event.group is None:
            return []  # nobody's (a state without a session), or nothing watch reads
        group = event.group
        return [desk for desk in self._desks if desk.holds(group)] or list(self._desks)

    def _refuse(self, refused: RefusedError) -> Response:
        self._count(refused.result, None)
        # Closed after the answer: a body left unread must not keep the connection open, and
        # a peer that was refused gets no second request on it.
        return JSONResponse(
            {"error": refused.message}, status_code=refused.status, headers={"Connection": "close"}
        )

    def _answer(self, status: int, result: str, desks: Sequence[Desk] = ()) -> Response:
        self._count(result, desks[0].name if len(desks) == 1 else None)
        return JSONResponse({"status": result}, status_code=status)

    # -- for operators ----------------------------------------------------------------------

    async def _metrics(self, request: Request) -> Response:
        return self._metrics_page()

    async def _healthz(self, request: Request) -> Response:
        status, body = self._health()
        return JSONResponse(body, status_code=status)


def _together(answers: list[Answer]) -> Answer:
    """One answer for an event handed to several sessions (or none): queued if any queued
    it, else what they all said, else ignored."""
    queued = [answer for answer in answers if answer[0] == 202]
    if queued:
        return queued[0]
    if len(set(answers)) == 1:
        return answers[0]
    return 200, "ignored"
