"""The request bodies the simulator accepts, written from titan-api.md, and how it reads them.

These are the simulator's own models, never the client's: the contract tests then check the
field names groupctl sends against the ones Titan documents, not against themselves. They are
strict (no coercion, unknown keys refused) because the simulator must refuse what Titan would.
"""

from __future__ import annotations

import json
from typing import Literal, TypeVar

import pydantic
from starlette.requests import Request

from reconciler.sim.world import SimError

_Body = TypeVar("_Body", bound=pydantic.BaseModel)


class RequestModel(pydantic.BaseModel):
    """A group write body: Titan's fields only, each of the type it documents."""

    model_config = pydantic.ConfigDict(frozen=True, extra="forbid", strict=True)

    # api-reference/groups puts the session in write bodies; the seed page leaves it out.
    session: str | None = None


class CreateGroupRequest(RequestModel):
    """`POST /groups`: the subject and the JIDs of the first participants."""

    name: str
    participants: list[str]


class ParticipantsRequest(RequestModel):
    """`POST`/`DELETE .../participants`, `.../promote`, `.../demote`: the JIDs to act on."""

    participants: list[str]


class ValueRequest(RequestModel):
    """`PUT .../subject` and `PUT .../description`: the new text."""

    value: str


class PictureRequest(RequestModel):
    """`PUT .../picture`: an HTTPS URL to fetch, or a base64 JPEG, exactly one of them."""

    url: str | None = None
    base64: str | None = None

    @pydantic.model_validator(mode="after")
    def _exactly_one_source(self) -> PictureRequest:
        if (self.url is None) == (self.base64 is None):
            raise ValueError("give exactly one of 'url' or 'base64'")
        return self


class JoinRequest(RequestModel):
    """`POST /groups/join`: the invite code, not the link."""

    code: str


class SendTextRequest(RequestModel):
    """`POST /api/messages/send`: the path names no session, so the body must."""

    session: str
    chatId: str  # noqa: N815 - Titan's name
    type: Literal["text"]
    text: str


async def read_body(request: Request, model: type[_Body]) -> _Body:
    """The request's JSON body as `model`, or a 400 saying everything wrong with it."""
    try:
        data = json.loads(await request.body())
    except ValueError:
        raise SimError(400, "the request body is not valid JSON") from None
    try:
        body = model.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'body'}: {error['msg']}"
            for error in exc.errors()
        )
        raise SimError(400, f"invalid request body: {problems}") from None
    # Titan takes the session in the body or not at all; a different one is a mistake.
    named, path_session = getattr(body, "session", None), request.path_params.get("session")
    if named is not None and path_session is not None and named != path_session:
        raise SimError(400, f"the body's session {named!r} is not the path's {path_session!r}")
    return body
