"""The simulator's HTTP routes: every endpoint of titan-api.md over a `WorldStore`.

Answers use Titan's shapes: `{"data": ...}` on success, `{"error", "docs"}` on failure.
`Simulator.asgi` is the whole application, gateway included, for uvicorn or an in-process
transport.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import time
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import pydantic
from PIL import Image, UnidentifiedImageError
from pydantic_core import to_json
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reconciler.errors import GroupctlError
from reconciler.sim import registrations
from reconciler.sim.gateway import (
    DOCS_URL,
    FaultInjector,
    Gateway,
    SimStats,
    SlidingWindow,
)
from reconciler.sim.requests import (
    CreateGroupRequest,
    JoinRequest,
    ParticipantsRequest,
    PictureRequest,
    SendTextRequest,
    ValueRequest,
    read_body,
)
from reconciler.sim.rules import groups, invites, messages, participants
from reconciler.sim.rules.participants import Outcome
from reconciler.sim.state import Account, Group, SessionStatus, StatusReason
from reconciler.sim.store import WorldStore
from reconciler.sim.webhooks import WebhookSender
from reconciler.sim.world import Event, SimError, World

MAX_PICTURE_BYTES = 5 * 1024 * 1024
WEBHOOK_FLUSH_SECONDS = 5.0  # at shutdown, for deliveries still queued
_T = TypeVar("_T")


@dataclass
class SimConfig:
    """How the simulator behaves beyond WhatsApp's rules."""

    api_keys: dict[str, frozenset[str]]
    latency: float = 0.0  # seconds added to every API request
    rate_limit: SlidingWindow | None = None
    faults: FaultInjector | None = None
    webhooks: WebhookSender | None = None
    # Deliver to the URLs registered through /api/webhooks (see sim/registrations.py).
    deliver_registered: bool = False
    # Test-only: accept http and local URLs for webhooks, which Titan refuses.
    allow_local_webhooks: bool = False
    clock: Callable[[], float] = time.time
    # In-process (sim:PATH), the client logs each call already: the simulator's line would
    # only repeat it.
    log_requests: bool = True
    # Serve GET .../picture whatever the world's settings say (`sim serve --picture-getter`).
    picture_getter: bool = False


@dataclass
class Simulator:
    store: WorldStore
    config: SimConfig
    stats: SimStats = field(default_factory=SimStats)

    def __post_init__(self) -> None:
        self.registered = registrations.Deliveries(enabled=self.config.deliver_registered)
        self.asgi = Gateway(
            self._starlette(),
            api_keys=self.config.api_keys,
            latency=self.config.latency,
            rate_limit=self.config.rate_limit,
            faults=self.config.faults,
            stats=self.stats,
            log_requests=self.config.log_requests,
        )

    # -- plumbing --------------------------------------------------------------------------

    def _starlette(self) -> Starlette:
        group = "/api/sessions/{session}/groups/{group_id}"
        routes = [
            Route("/api/sessions/{session}", self.get_session, methods=["GET"]),
            Route("/api/sessions/{session}/groups", self.list_groups, methods=["GET"]),
            Route("/api/sessions/{session}/groups", self.create_group, methods=["POST"]),
            Route("/api/sessions/{session}/groups/join", self.preview_invite, methods=["GET"]),
            Route("/api/sessions/{session}/groups/join", self.join, methods=["POST"]),
            Route(group, self.get_group, methods=["GET"]),
            Route(group, self.delete_group, methods=["DELETE"]),
            Route(f"{group}/leave", self.leave, methods=["POST"]),
            Route(f"{group}/subject", self.set_subject, methods=["PUT"]),
            Route(f"{group}/description", self.set_description, methods=["PUT"]),
            Route(f"{group}/picture", self.set_picture, methods=["PUT"]),
            Route(f"{group}/picture", self.get_picture, methods=["GET"]),
            Route(f"{group}/participants", self.list_participants, methods=["GET"]),
            Route(
                f"{group}/participants",
                self._participant_change(
                    lambda world, account, gid, jids: participants.add(
                        world, account, gid, jids, self._now()
                    )
                ),
                methods=["POST"],
            ),
            Route(
                f"{group}/participants",
                self._participant_change(participants.remove),
                methods=["DELETE"],
            ),
            Route(
                f"{group}/participants/promote",
                self._participant_change(participants.promote),
                methods=["POST"],
            ),
            Route(
                f"{group}/participants/demote",
                self._participant_change(participants.demote),
                methods=["POST"],
            ),
            Route(f"{group}/invite", self.get_invite, methods=["GET"]),
            Route(f"{group}/invite", self.revoke_invite, methods=["DELETE"]),
            Route("/api/messages/send", self.send_text, methods=["POST"]),
            Route("/_sim/pictures/{key}.jpg", self.picture_file, methods=["GET"]),
            Route("/_sim/stats", self.stats_json, methods=["GET"]),
            Route("/_sim/sessions/{session}/status", self.set_status, methods=["POST"]),
            Route("/api/webhooks", self.create_webhook, methods=["POST"]),
            Route("/api/webhooks", self.list_webhooks, methods=["GET"]),
            Route("/api/webhooks/{webhook_id}", self.delete_webhook, methods=["DELETE"]),
        ]
        handlers: dict[Any, Any] = {
            SimError: _sim_error,
            HTTPException: _http_error,
            GroupctlError: _internal_error,
        }
        return Starlette(routes=routes, exception_handlers=handlers, lifespan=self._lifespan)

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> Any:
        yield
        await self.close_webhooks()

    async def close_webhooks(self) -> None:
        """Deliver what is queued (for at most WEBHOOK_FLUSH_SECONDS), then stop."""
        senders = [
            *([self.config.webhooks] if self.config.webhooks else []),
            *self.registered.senders,
        ]
        try:
            async with asyncio.timeout(WEBHOOK_FLUSH_SECONDS):
                await asyncio.gather(*(sender.close() for sender in senders))
        except TimeoutError:
            for sender in senders:
                sender.dropped()

    def _now(self) -> int:
        return int(self.config.clock())

    def _read(self, request: Request, view: Callable[[World, Account], _T]) -> _T:
        world = self.store.world()
        return view(world, world.connected_account(request.path_params["session"]))

    def _write(self, request: Request, change: Callable[[World, Account], _T]) -> _T:
        with self.store.change() as world:
            account = world.connected_account(request.path_params["session"])
            result = change(world, account)
            world.count_write(account)
            events, world.outbox = world.outbox, []
        self._publish(world, events)
        return result

    def _publish(self, world: World, events: list[Event]) -> None:
        if not events:
            return
        if self.config.webhooks is not None:
            self.config.webhooks.publish(events)
        self.registered.publish(world.state.webhooks, events)

    # -- session and groups ----------------------------------------------------------------

    async def get_session(self, request: Request) -> Response:
        world = self.store.world()
        account = world.account(request.path_params["session"])
        person = world.person(account.phone)
        name = account.push_name or person.name
        if world.state.settings.session_shape == "legacy":
            me = {"id": person.jid, "lid": person.lid_jid, "pushName": name}
            return _ok({"name": account.session, "status": account.status, "me": me})
        paired = account.status == "CONNECTED" or account.status_reason not in (
            "SCAN_QR",
            "QR_TIMEOUT",
            "LOGGED_OUT",
        )
        return _ok(
            {
                "name": account.session,
                "status": account.status,
                "statusReason": account.status_reason,
                # Known once the phone is paired, as Titan's api-reference/sessions shows.
                "phoneNumber": account.phone if paired else None,
                "pushName": name if paired else None,
                "businessName": None,
                "platform": "smba",
                "lid": person.lid_jid if paired else None,
                "proxy": None,
            }
        )

    async def list_groups(self, request: Request) -> Response:
        return _ok(
            self._read(
                request,
                lambda world, account: [
                    _group_json(world, account, group, with_participants=False)
                    for group in world.groups_of(account)
                ],
            )
        )

    async def get_group(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        return _ok(
            self._read(
                request,
                lambda world, account: _group_json(world, account, world.group(account, gid)),
            )
        )

    async def create_group(self, request: Request) -> Response:
        body = await read_body(request, CreateGroupRequest)

        def create(world: World, account: Account) -> dict[str, Any]:
            group, outcomes = groups.create_group(
                world, account, body.name, body.participants, self._now()
            )
            return {**_group_json(world, account, group), "results": _results(outcomes)}

        return _ok(self._write(request, create), status=201)

    async def leave(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        self._write(request, lambda world, account: groups.leave(world, account, gid, self._now()))
        return _ok({"success": True})

    async def delete_group(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        self._write(request, lambda world, account: groups.delete(world, account, gid))
        return _ok({"success": True})

    async def set_subject(self, request: Request) -> Response:
        gid, body = request.path_params["group_id"], await read_body(request, ValueRequest)
        self._write(
            request, lambda world, account: groups.set_subject(world, account, gid, body.value)
        )
        return _ok({"success": True})

    async def set_description(self, request: Request) -> Response:
        gid, body = request.path_params["group_id"], await read_body(request, ValueRequest)
        self._write(
            request, lambda world, account: groups.set_description(world, account, gid, body.value)
        )
        return _ok({"success": True})

    async def set_picture(self, request: Request) -> Response:
        gid, body = request.path_params["group_id"], await read_body(request, PictureRequest)
        # Refuse non-admins before fetching anything on their behalf.
        self._read(
            request, lambda world, account: world.group_as_admin(account, gid, "change the picture")
        )
        jpeg = await _download_image(body.url) if body.url else _decode_jpeg(body.base64 or "")
        self._write(request, lambda world, account: groups.set_picture(world, account, gid, jpeg))
        return _ok({"success": True})

    async def get_picture(self, request: Request) -> Response:
        if not (self.config.picture_getter or self.store.world().state.settings.picture_getter):
            raise HTTPException(404)  # as the router answers a route it does not have
        gid = request.path_params["group_id"]
        key = self._read(request, lambda world, account: world.group(account, gid).picture)
        url = f"{str(request.base_url).rstrip('/')}/_sim/pictures/{key}.jpg" if key else None
        return _ok({"url": url})

    async def picture_file(self, request: Request) -> Response:
        encoded = self.store.world().state.pictures.get(request.path_params["key"])
        if encoded is None:
            raise SimError(404, "no such picture")
        return Response(base64.b64decode(encoded), media_type="image/jpeg")

    async def stats_json(self, request: Request) -> Response:
        return JSONResponse(self.stats.as_json())

    async def set_status(self, request: Request) -> Response:
        """Test control, outside the API: the session changes state as Titan would report it
        (`session.status` webhooks included)."""
        body = await read_body(request, _StatusChange)
        with self.store.change() as world:
            account = world.account(request.path_params["session"])
            world.set_status(account, body.status, body.statusReason)
            events, world.outbox = world.outbox, []
        self._publish(world, events)
        return JSONResponse({"status": account.status, "statusReason": account.status_reason})

    # -- webhooks --------------------------------------------------------------------------

    async def create_webhook(self, request: Request) -> Response:
        body = await read_body(request, registrations.WebhookRequest)
        allow_local = self.config.allow_local_webhooks
        with self.store.change() as world:
            hook, key = registrations.create(world, body, now=self._now(), allow_local=allow_local)
        # The signing key is shown this once.
        return _ok({**registrations.as_json(hook), "hmacKey": key}, status=201)

    async def list_webhooks(self, request: Request) -> Response:
        return _ok([registrations.as_json(h) for h in self.store.world().state.webhooks])

    async def delete_webhook(self, request: Request) -> Response:
        with self.store.change() as world:
            registrations.delete(world, request.path_params["webhook_id"])
        return _ok({"success": True})

    # -- participants ----------------------------------------------------------------------

    async def list_participants(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        return _ok(
            self._read(
                request,
                lambda world, account: _participants_json(
                    world, account, world.group(account, gid)
                ),
            )
        )

    def _participant_change(
        self, change: Callable[[World, Account, str, list[str]], list[Outcome]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A route that changes participants and answers per participant."""

        async def route(request: Request) -> Response:
            gid = request.path_params["group_id"]
            body = await read_body(request, ParticipantsRequest)
            outcomes = self._write(
                request, lambda world, account: change(world, account, gid, body.participants)
            )
            return _ok({"results": _results(outcomes)})

        return route

    # -- invites ---------------------------------------------------------------------------

    async def get_invite(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        return _ok(
            {
                "code": self._read(
                    request, lambda world, account: invites.invite_code(world, account, gid)
                )
            }
        )

    async def revoke_invite(self, request: Request) -> Response:
        gid = request.path_params["group_id"]
        return _ok(
            {
                "code": self._write(
                    request, lambda world, account: invites.revoke_invite(world, account, gid)
                )
            }
        )

    async def preview_invite(self, request: Request) -> Response:
        code = request.query_params.get("inviteCode")
        if not code:
            raise SimError(400, "the inviteCode query parameter is required")

        def preview(world: World, account: Account) -> dict[str, Any]:
            group = world.group_by_invite(code)
            members = _participants_json(world, account, group)
            return {
                "id": group.id,
                "subject": group.subject,
                "size": len(members),
                "participants": members,
            }

        return _ok(self._read(request, preview))

    async def join(self, request: Request) -> Response:
        body = await read_body(request, JoinRequest)
        group = self._write(request, lambda world, account: invites.join(world, account, body.code))
        return _ok({"id": group.id})

    # -- messages --------------------------------------------------------------------------

    async def send_text(self, request: Request) -> Response:
        body = await read_body(request, SendTextRequest)
        with self.store.change() as world:
            account = world.connected_account(body.session)
            message = messages.send_text(world, account, body.chatId, body.text, self._now())
            world.count_write(account)
            sender = world.person(account.phone)
        return _ok(
            {
                "id": message.id,
                "status": "sent",
                "timestamp": message.timestamp,
                "fromPhoneNumber": sender.phone,
                "fromLid": sender.lid_jid,
            }
        )


class _StatusChange(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    status: SessionStatus
    statusReason: StatusReason | None = None  # noqa: N815 - Titan's name


def _ok(data: Any, *, status: int = 200) -> Response:
    # pydantic-core's encoder writes the same bytes as JSONResponse's json.dumps (compact,
    # UTF-8), about three times as fast: the simulator serves large groups all day.
    return Response(to_json({"data": data}), status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message, "docs": DOCS_URL}, status_code=status)


async def _sim_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SimError)
    return _error(exc.status, exc.message)


async def _internal_error(request: Request, exc: Exception) -> Response:
    # The simulator's own trouble (say, its world file cannot be saved): an honest 500.
    return _error(500, f"simulator error: {exc}")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return _error(exc.status_code, exc.detail)


def _group_json(
    world: World, viewer: Account, group: Group, *, with_participants: bool = True
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": group.id,
        "name": group.subject,
        "description": group.description,
        "createdAt": group.created_at,
        "ownerLid": world.person(group.creator).lid_jid,
    }
    if with_participants:
        data["participants"] = _participants_json(world, viewer, group)
    return data


def _participants_json(world: World, viewer: Account, group: Group) -> list[dict[str, Any]]:
    return [
        {"phoneNumber": person.phone, "lid": f"{person.lid}@lid", **_ROLE_FLAGS[role]}
        if visible
        else {"lid": f"{person.lid}@lid", **_ROLE_FLAGS[role]}
        for person, role, visible in world.participants_seen_by(viewer, group)
    ]


_ROLE_FLAGS: dict[str, dict[str, bool]] = {
    "member": {"isAdmin": False, "isSuperAdmin": False},
    "admin": {"isAdmin": True, "isSuperAdmin": False},
    "superadmin": {"isAdmin": True, "isSuperAdmin": True},
}


def _results(outcomes: list[Outcome]) -> list[dict[str, Any]]:
    results = []
    for outcome in outcomes:
        entry: dict[str, Any] = {"jid": outcome.jid, "status": outcome.status}
        if outcome.message:
            entry["message"] = outcome.message
        if outcome.add_request is not None:
            code, expiration = outcome.add_request
            # WhatsApp made an invite, and sent it to nobody (titan-api.md).
            entry["addRequest"] = {"code": code, "expiration": expiration}
            entry["inviteSent"] = False
        results.append(entry)
    return results


def _decode_jpeg(encoded: str) -> bytes:
    try:
        data = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise SimError(400, "base64 is not valid base64") from None
    if len(data) > MAX_PICTURE_BYTES:
        raise SimError(400, f"the picture is larger than {MAX_PICTURE_BYTES} bytes")
    if _image_format(data) != "JPEG":
        raise SimError(400, "the picture must be a JPEG image")
    return data


async def _download_image(url: str) -> bytes:
    """Fetch a picture URL as Titan would, and store it as JPEG whatever its format."""
    try:
        async with httpx.AsyncClient(timeout=10.0, follow_redirects=True) as http:
            response = await http.get(url)
    except httpx.HTTPError as exc:
        raise SimError(400, f"could not download the picture: {exc}") from None
    if not response.is_success or len(response.content) > MAX_PICTURE_BYTES:
        raise SimError(400, f"could not download the picture (HTTP {response.status_code})")
    if _image_format(response.content) == "JPEG":
        return response.content
    with Image.open(io.BytesIO(response.content)) as image:
        out = io.BytesIO()
        image.convert("RGB").save(out, format="JPEG")
        return out.getvalue()


def _image_format(data: bytes) -> str | None:
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.verify()
            return image.format
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise SimError(400, "the picture is not a readable image") from None
