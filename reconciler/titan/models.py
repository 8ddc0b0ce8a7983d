"""Titan API payloads as pydantic models.

Responses are parsed tolerantly (titan-api.md marks several shapes as inferred): aliases cover
Titan's, WAHA's and whatsapp-web.js's names for the same field, and addresses are normalized to
`Jid`. Requests are strict: the simulator validates incoming bodies with the same models.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    model_validator,
)

from reconciler.jid import Jid, JidKind, jid_from_api

SESSION_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}")
MAX_PARTICIPANTS_PER_CALL = 256
MAX_GROUP_SIZE = 1024
MAX_SUBJECT_LENGTH = 25
MAX_DESCRIPTION_LENGTH = 2048


def _to_jid(value: object, bare: JidKind = JidKind.PHONE) -> Jid:
    if isinstance(value, Jid):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected a JID string, got {type(value).__name__}")
    return jid_from_api(value, bare=bare)


def _to_lid(value: object) -> Jid:
    return _to_jid(value, JidKind.LID)


ApiJid = Annotated[Jid, PlainValidator(_to_jid), PlainSerializer(str, return_type=str)]
# A field that holds LIDs: bare digits there are a LID, not a phone number.
ApiLid = Annotated[Jid, PlainValidator(_to_lid), PlainSerializer(str, return_type=str)]


class ApiModel(BaseModel):
    """Base for response payloads: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


class ParticipantStatus(IntEnum):
    """WhatsApp's per-participant answer codes for add, remove, promote and demote."""

    DONE = 200
    INVITED = 403  # privacy settings: WhatsApp sent a private invitation instead of adding
    NOT_PARTICIPANT = 404
    RECENTLY_LEFT = 408
    ALREADY = 409  # already a member (add), already admin (promote), not admin (demote)
    COMMUNITY = 417
    GROUP_FULL = 419


class Participant(ApiModel):
    """A member of a group as the API shows it. Either address may be missing, not both."""

    phone: ApiJid | None = Field(
        default=None, validation_alias=AliasChoices("phoneNumber", "phone")
    )
    lid: ApiLid | None = None
    is_admin: bool = Field(default=False, validation_alias=AliasChoices("isAdmin", "is_admin"))
    is_super_admin: bool = Field(
        default=False, validation_alias=AliasChoices("isSuperAdmin", "is_super_admin")
    )

    @model_validator(mode="before")
    @classmethod
    def _accept_waha_shape(cls, data: Any) -> Any:
        # WAHA writes {"id": "<n>@c.us" | "<n>@lid", "admin": "admin" | "superadmin" | null}.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        ident = data.get("id")
        if isinstance(ident, str):
            data.setdefault("lid" if ident.endswith("@lid") else "phoneNumber", ident)
        role = data.get("admin", data.get("role"))
        if role in ("admin", "superadmin"):
            data.setdefault("isAdmin", True)
        if role == "superadmin":
            data.setdefault("isSuperAdmin", True)
        if data.get("isSuperAdmin"):
            data["isAdmin"] = True
        return data

    @model_validator(mode="after")
    def _has_an_address(self) -> Participant:
        if self.phone is None and self.lid is None:
            raise ValueError("a participant needs a phoneNumber or a lid")
        if self.phone is not None and not self.phone.is_phone:
            raise ValueError(f"phoneNumber {self.phone} is not a phone JID")
        return self

    @property
    def jid(self) -> Jid:
        """The best address to act on this participant: the phone JID, else the LID."""
        address = self.phone or self.lid
        assert address is not None  # guaranteed by _has_an_address
        return address


def _epoch_seconds(value: object) -> object:
    if isinstance(value, str) and not value.isdigit():
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return value


class Group(ApiModel):
    """A group. `participants` is None when the answer did not include them (e.g. the list)."""

    id: ApiJid
    name: str = Field(default="", validation_alias=AliasChoices("name", "subject"))
    description: str | None = Field(
        default=None, validation_alias=AliasChoices("description", "desc")
    )
    created_at: int | None = Field(
        default=None, validation_alias=AliasChoices("createdAt", "creation", "created_at")
    )
    owner_lid: ApiLid | None = Field(
        default=None, validation_alias=AliasChoices("ownerLid", "owner")
    )
    participants: tuple[Participant, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize_time(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("createdAt", "creation", "created_at"):
                if key in data:
                    data[key] = _epoch_seconds(data[key])
        return data


class SessionAccount(ApiModel):
    """The WhatsApp account behind a session."""

    id: ApiJid
    lid: ApiLid | None = None
    push_name: str | None = Field(default=None, validation_alias=AliasChoices("pushName", "name"))


class SessionInfo(ApiModel):
    name: str
    status: str
    me: SessionAccount | None = None


class ParticipantResult(ApiModel):
    """What WhatsApp did with one participant of an add/remove/promote/demote call."""

    jid: ApiJid = Field(validation_alias=AliasChoices("jid", "id", "participant"))
    status: int = Field(validation_alias=AliasChoices("status", "code", "statusCode"))
    message: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == ParticipantStatus.DONE


NOT_REPORTED = 0  # status of a participant the API said nothing about


def parse_participant_results(data: Any, requested: Sequence[Jid]) -> tuple[ParticipantResult, ...]:
    """Per-participant results in any known shape, one per requested participant at least.

    Shapes: `{"results": [{"jid", "status"}]}` (Titan, simulator), a bare list of the same,
    whatsapp-web.js's `{"<jid>": {"code", "message"}}` map; a body with no per-participant detail
    means the call succeeded for everyone. A participant missing from a detailed answer is
    reported with status `NOT_REPORTED`, so nobody is silently counted as done.
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
    else:
        return tuple(ParticipantResult(jid=jid, status=ParticipantStatus.DONE) for jid in requested)
    results = [ParticipantResult.model_validate(item) for item in items]
    if len(results) < len(requested):
        reported = {result.jid for result in results}
        results += [
            ParticipantResult(jid=jid, status=NOT_REPORTED, message="the API reported no result")
            for jid in requested
            if jid not in reported
        ]
    return tuple(results)


class InviteInfo(ApiModel):
    """What an invite code leads to, as shown before joining."""

    id: ApiJid | None = None
    subject: str = Field(default="", validation_alias=AliasChoices("subject", "name"))
    size: int | None = Field(
        default=None, validation_alias=AliasChoices("size", "memberCount", "participantCount")
    )
    participants: tuple[Participant, ...] = ()


class CreatedGroup(ApiModel):
    """A new group, with per-participant results when the API reported them."""

    group: Group
    results: tuple[ParticipantResult, ...] = ()


# Requests: strict, because groupctl writes them and the simulator must refuse what Titan would.


class RequestModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class CreateGroupRequest(RequestModel):
    name: str
    participants: list[str]


class ParticipantsRequest(RequestModel):
    participants: list[str]


class ValueRequest(RequestModel):
    value: str


class PictureRequest(RequestModel):
    url: str | None = None
    base64: str | None = None

    @model_validator(mode="after")
    def _exactly_one_source(self) -> PictureRequest:
        if (self.url is None) == (self.base64 is None):
            raise ValueError("give exactly one of 'url' or 'base64'")
        return self


class JoinRequest(RequestModel):
    code: str
