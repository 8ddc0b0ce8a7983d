"""What the simulator answers, in Titan's shapes: `{"data": ...}` on success, `{"error", "docs"}`
on failure, and the JSON of groups, participants and per-participant results."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic_core import to_json
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from reconciler.errors import GroupctlError
from reconciler.sim.gateway import DOCS_URL
from reconciler.sim.rules.participants import Outcome
from reconciler.sim.state import Account, Group
from reconciler.sim.world import SimError, World


def ok(data: Any, *, status: int = 200) -> Response:
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


# Every refusal answered in Titan's error shape: the rules', the router's, the simulator's own.
ERROR_HANDLERS: Mapping[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    SimError: _sim_error,
    HTTPException: _http_error,
    GroupctlError: _internal_error,
}


def group_json(
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
        data["participants"] = participants_json(world, viewer, group)
    return data


def participants_json(world: World, viewer: Account, group: Group) -> list[dict[str, Any]]:
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


def results_json(outcomes: list[Outcome]) -> list[dict[str, Any]]:
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
