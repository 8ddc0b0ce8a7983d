"""What WhatsApp did with each participant of an add, remove, promote or demote call, read
from every engine's shape (titan-api.md, "Per-participant results")."""

from __future__ import annotations

from collections.abc import Sequence
from enum import IntEnum
from typing import Any

from pydantic import AliasChoices, Field, model_validator

from reconciler.core.jid import Jid
from reconciler.titan.models import ApiJid, ApiLid, ApiModel, Group, epoch_seconds


class ParticipantStatus(IntEnum):
    """WhatsApp's per-participant answer codes for add, remove, promote and demote."""

    DONE = 200
    # On add: the person's privacy settings forbid being added. WhatsApp answers with an
    # invite code (an add request) and sends nothing, unless the answer says it was sent.
    NEEDS_INVITE = 403
    NOT_PARTICIPANT = 404  # on add: not on WhatsApp (or a LID nobody has)
    RECENTLY_LEFT = 408
    ALREADY = 409  # already a member (add), already admin (promote), not admin (demote)
    COMMUNITY = 417
    GROUP_FULL = 419


class AddRequest(ApiModel):
    """The invite WhatsApp made for someone it would not add (privacy settings): its code,
    and when it expires (Unix seconds), as the API reported them. Untrusted strings."""

    code: str
    expiration: int | None = None


def _add_request(raw: Any) -> dict[str, Any] | None:
    """An add request in any engine's spelling, or None when it has no usable code: the
    request is extra information, never a reason to refuse the whole answer."""
    if not isinstance(raw, dict):
        return None
    code = raw.get("code", raw.get("Code"))
    if not isinstance(code, str) or not code:
        return None
    expiration = raw.get("expiration", raw.get("Expiration"))
    try:
        expiration = int(epoch_seconds(expiration))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        expiration = None
    return {"code": code, "expiration": expiration}


class ParticipantResult(ApiModel):
    """What WhatsApp did with one participant of an add/remove/promote/demote call.

    Read from every engine's shape (titan-api.md, "Per-participant results"): the simulator's
    `{jid, status, addRequest, inviteSent}`, whatsapp-web.js's `{code, message,
    isInviteV4Sent}`, Baileys' `{status: "403", jid, content}` (a string status, the add request
    in an `add_request` node of `content`), whatsmeow's and WAHA's `{JID, PhoneNumber, LID,
    Error, AddRequest: {Code, Expiration}}` (`Error` 0 for success).
    """

    jid: ApiJid = Field(validation_alias=AliasChoices("jid", "id", "participant", "JID"))
    status: int = Field(validation_alias=AliasChoices("status", "code", "statusCode", "Error"))
    message: str | None = None
    # The person's other addresses, when the answer gives them (whatsmeow, WAHA).
    phone: ApiJid | None = Field(
        default=None, validation_alias=AliasChoices("phoneNumber", "PhoneNumber")
    )
    lid: ApiLid | None = Field(default=None, validation_alias=AliasChoices("lid", "LID"))
    add_request: AddRequest | None = None
    # Whether WhatsApp (or the engine) sent the person an invitation itself.
    invite_sent: bool = Field(
        default=False,
        validation_alias=AliasChoices("inviteSent", "isInviteV4Sent", "invited", "invite_sent"),
    )
    # False when the answer said nothing per person: assumed done, but nobody confirmed it.
    per_person: bool = True

    @model_validator(mode="before")
    @classmethod
    def _engine_shapes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # whatsmeow writes an unknown address as "": it is absent, not malformed.
        data = {k: v for k, v in data.items() if not (k in _OTHER_ADDRESSES and v == "")}
        if data.get("Error") == 0:  # whatsmeow: no error is success
            data["Error"] = ParticipantStatus.DONE
        invite = data.get("invite")
        if isinstance(invite, dict) and "sent" in invite:
            data.setdefault("invite_sent", invite["sent"])
        raw = next(
            (data.pop(k) for k in ("addRequest", "add_request", "AddRequest") if k in data),
            _node(data.get("content"), "add_request"),
        )
        data["add_request"] = _add_request(raw)
        return data

    @property
    def ok(self) -> bool:
        return self.status == ParticipantStatus.DONE


_OTHER_ADDRESSES = frozenset({"phoneNumber", "PhoneNumber", "lid", "LID"})


def _node(content: Any, tag: str, depth: int = 0) -> dict[str, Any] | None:
    """The attributes of the first `tag` node in a Baileys binary node tree (as JSON)."""
    if depth > 4:
        return None
    if isinstance(content, list):
        for child in content[:16]:
            found = _node(child, tag, depth + 1)
            if found is not None:
                return found
    elif isinstance(content, dict):
        if content.get("tag") == tag and isinstance(content.get("attrs"), dict):
            return dict(content["attrs"])
        return _node(content.get("content"), tag, depth + 1)
    return None


NOT_REPORTED = 0  # status of a participant the API said nothing about


def parse_participant_results(data: Any, requested: Sequence[Jid]) -> tuple[ParticipantResult, ...]:
    """Per-participant results in any known shape, one per requested participant at least.

    Shapes: `{"results": [...]}` (Titan, simulator), a bare list (Baileys, whatsmeow, WAHA),
    whatsapp-web.js's `{"<jid>": {"code", "message", "isInviteV4Sent"}}` map. A result that
    names the person by their other address (a LID for a number asked for) is reported under
    the address asked for. A body with no per-participant detail (none, `{"success": true}`)
    means the call succeeded for everyone, marked `per_person=False`; one that looks like
    results gone wrong (`results` not a list, an `error`, `success: false`) is a ValueError. A
    participant missing from a detailed answer is reported with status `NOT_REPORTED`, so
    nobody is silently counted as done.
    """
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        items: list[Any] = data["results"]
    elif isinstance(data, list):
        items = data
    elif isinstance(data, dict) and data and all("@" in key for key in data):
        items = [
            {"jid": key, **(value if isinstance(value, dict) else {"code": value})}
            for key, value in data.items()
        ]
    elif isinstance(data, dict) and (
        "results" in data or "error" in data or not data.get("success", True)
    ):
        raise ValueError(f"not per-participant results: {str(data)[:200]}")
    else:
        return tuple(
            ParticipantResult(jid=jid, status=ParticipantStatus.DONE, per_person=False)
            for jid in requested
        )
    asked = set(requested)
    results = [_as_asked(ParticipantResult.model_validate(item), asked) for item in items]
    if len(results) < len(requested) or any(r.jid not in asked for r in results):
        reported = {result.jid for result in results}
        results += [
            ParticipantResult(jid=jid, status=NOT_REPORTED, message="the API reported no result")
            for jid in requested
            if jid not in reported
        ]
    return tuple(results)


def _as_asked(result: ParticipantResult, asked: set[Jid]) -> ParticipantResult:
    if result.jid in asked:
        return result
    other = next((a for a in (result.phone, result.lid) if a is not None and a in asked), None)
    return result if other is None else result.model_copy(update={"jid": other})


class CreatedGroup(ApiModel):
    """A new group, with per-participant results when the API reported them."""

    group: Group
    results: tuple[ParticipantResult, ...] = ()
    # Found after the create's answer was lost: what WhatsApp said of each person is unknown.
    recovered: bool = False
