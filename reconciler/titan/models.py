"""Titan API payloads as pydantic models.

Responses are parsed tolerantly (titan-api.md marks several shapes as inferred): aliases cover
Titan's, WAHA's and whatsapp-web.js's names for the same field, and addresses are normalized to
`Jid`. Request bodies are plain dicts built by the client; the simulator checks them against
its own models, written from titan-api.md.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    model_validator,
)

from reconciler.core.jid import Jid, JidKind, jid_from_api

# A plan reads the same people again in group after group: each distinct text is turned into
# a Jid once (errors are not cached), which also lets equal addresses share one string.
_CACHE_SIZE = 1 << 16


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _address(text: str) -> Jid:
    return jid_from_api(text)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _lid(text: str) -> Jid:
    return jid_from_api(text, bare=JidKind.LID)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def _phone(text: str) -> Jid:
    jid = jid_from_api(text)
    if not jid.is_phone:
        raise ValueError(f"{text!r} is not a phone number or phone JID")
    return jid


def _validator(read: Callable[[str], Jid]) -> Callable[[object], Jid]:
    def validate(value: object) -> Jid:
        if isinstance(value, str):  # a Jid is a str too: it is read again, from the cache
            return read(str(value))
        raise ValueError(f"expected a JID string, got {type(value).__name__}")

    return validate


_to_jid, _to_phone, _to_lid = _validator(_address), _validator(_phone), _validator(_lid)


ApiJid = Annotated[Jid, PlainValidator(_to_jid), PlainSerializer(str, return_type=str)]
ApiPhone = Annotated[Jid, PlainValidator(_to_phone), PlainSerializer(str, return_type=str)]
# A field that holds LIDs: bare digits there are a LID, not a phone number.
ApiLid = Annotated[Jid, PlainValidator(_to_lid), PlainSerializer(str, return_type=str)]


class ApiModel(BaseModel):
    """Base for response payloads: immutable, unknown fields ignored."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")


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


@dataclass(frozen=True, slots=True)
class Participant:
    """A member of a group as the API shows it. Either address may be missing, not both.

    Read by `read_participants`, not field by field: a plan reads hundreds of thousands of
    them, and one loop with cached addresses is several times faster than a model each.
    """

    phone: Jid | None = None
    lid: Jid | None = None
    is_admin: bool = False
    is_super_admin: bool = False

    @property
    def jid(self) -> Jid:
        """The best address to act on this participant: the phone JID, else the LID."""
        address = self.phone or self.lid
        assert address is not None  # guaranteed by read_participants
        return address


_TITAN_KEYS = frozenset({"phoneNumber", "lid", "isAdmin", "isSuperAdmin"})
# Participants already read, by the Titan-shaped entry they were read from. Reading is a pure
# function of those four values, and a plan meets the same people in group after group: each
# distinct entry is read once and its (immutable) Participant shared. Only entries that were
# read without error are kept; emptied when full, so memory stays bounded.
_SEEN: dict[tuple[Any, Any, Any, Any], Participant] = {}
_SEEN_LIMIT = 1 << 16
_ABSENT = object()  # a key the entry does not have


def read_participants(items: Any) -> tuple[Participant, ...]:
    """Participants from Titan's shape or WAHA's (`{"id": "<n>@c.us", "admin": "admin"}`).

    Raises ValueError (so pydantic reports it at its place) for anything else: a participant
    without an address, a LID in the phone field, a role that is not true or false.
    """
    if isinstance(items, tuple) and all(isinstance(i, Participant) for i in items):
        return items
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list of participants, got {type(items).__name__}")
    seen, read = _SEEN, []
    for index, item in enumerate(items):
        key = None
        # The fast path: a Titan-shaped entry (no key but Titan's four) seen before. Its flags
        # must be booleans: 1 and 0 equal True and False as keys, and are refused below.
        if item.__class__ is dict:
            phone, lid = item.get("phoneNumber", _ABSENT), item.get("lid", _ABSENT)
            admin, super_admin = item.get("isAdmin", _ABSENT), item.get("isSuperAdmin", _ABSENT)
            if (
                (admin is False or admin is True or admin is _ABSENT)
                and (super_admin is False or super_admin is True or super_admin is _ABSENT)
                and len(item)
                == (phone is not _ABSENT)
                + (lid is not _ABSENT)
                + (admin is not _ABSENT)
                + (super_admin is not _ABSENT)
            ):
                key = (phone, lid, admin, super_admin)
                try:
                    participant = seen.get(key)
                except TypeError:  # an unhashable address: read below, which says what is wrong
                    key, participant = None, None
                if participant is not None:
                    read.append(participant)
                    continue
        participant = _read_participant(index, item)
        if key is not None:
            if len(seen) >= _SEEN_LIMIT:
                seen.clear()
            seen[key] = participant
        read.append(participant)
    return tuple(read)


def _read_participant(index: int, item: Any) -> Participant:
    if not isinstance(item, dict):
        raise ValueError(f"participant {index}: expected an object, got {item!r}")
    if not item.keys() <= _TITAN_KEYS or item.get("isSuperAdmin"):
        item = _titan_shape(item)
    phone, lid = item.get("phoneNumber", item.get("phone")), item.get("lid")
    admin = item.get("isAdmin", item.get("is_admin", False))
    super_admin = item.get("isSuperAdmin", item.get("is_super_admin", False))
    if not (phone or lid):
        raise ValueError(f"participant {index}: a participant needs a phoneNumber or a lid")
    if not isinstance(admin, bool) or not isinstance(super_admin, bool):
        raise ValueError(f"participant {index}: isAdmin and isSuperAdmin must be true or false")
    return Participant(
        phone=_to_phone(phone) if phone else None,
        lid=_to_lid(lid) if lid else None,
        is_admin=admin or super_admin,
        is_super_admin=super_admin,
    )


ApiParticipants = Annotated[tuple[InstanceOf[Participant], ...], BeforeValidator(read_participants)]
PARTICIPANTS: TypeAdapter[tuple[Participant, ...]] = TypeAdapter(ApiParticipants)


def _titan_shape(item: dict[str, Any]) -> dict[str, Any]:
    data = dict(item)
    ident = data.get("id")
    if isinstance(ident, str):  # WAHA: {"id": "<n>@c.us" | "<n>@lid", "admin": ...}
        data.setdefault("lid" if ident.endswith("@lid") else "phoneNumber", ident)
    role = data.get("admin", data.get("role"))
    if role in ("admin", "superadmin"):
        data.setdefault("isAdmin", True)
    if role == "superadmin":
        data.setdefault("isSuperAdmin", True)
    if data.get("isSuperAdmin"):
        data["isAdmin"] = True
    return data


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
    participants: ApiParticipants | None = None

    @model_validator(mode="before")
    @classmethod
    def _normalize_time(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("createdAt", "creation", "created_at"):
                if key in data:
                    data[key] = _epoch_seconds(data[key])
        return data


class SessionInfo(ApiModel):
    """A session and the WhatsApp account behind it.

    Titan's api-reference/sessions answers flat: `{name, status, statusReason, phoneNumber
    (E.164), lid, pushName, businessName, platform, ...}`. Older or engine-shaped answers nest
    the account as `me: {id, lid, pushName}` (WAHA's `/me`); that shape is read as a fallback.
    """

    name: str
    status: str
    status_reason: str | None = Field(
        default=None, validation_alias=AliasChoices("statusReason", "status_reason", "reason")
    )
    phone: ApiPhone | None = Field(
        default=None, validation_alias=AliasChoices("phoneNumber", "phone")
    )
    lid: ApiLid | None = None
    push_name: str | None = Field(default=None, validation_alias=AliasChoices("pushName"))
    business_name: str | None = Field(default=None, validation_alias=AliasChoices("businessName"))
    platform: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_me(cls, data: Any) -> Any:
        """WAHA-style `me: {id, lid, pushName}` when the flat fields are absent."""
        if not isinstance(data, dict):
            return data
        me = data.get("me")
        # Before pairing, the account's fields are absent, null or empty: all mean "unknown".
        data = {k: v for k, v in data.items() if k != "me" and v is not None and v != ""}
        if isinstance(me, dict) and not (data.get("phoneNumber") or data.get("phone")):
            for ours, theirs in (("phoneNumber", "id"), ("lid", "lid"), ("pushName", "pushName")):
                if me.get(theirs) is not None:
                    data.setdefault(ours, me[theirs])
        return data

    @property
    def connected(self) -> bool:
        return self.status.upper() == "CONNECTED"


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
        expiration = int(_epoch_seconds(expiration))  # type: ignore[call-overload]
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


class InviteInfo(ApiModel):
    """What an invite code leads to, as shown before joining."""

    id: ApiJid | None = None
    subject: str = Field(default="", validation_alias=AliasChoices("subject", "name"))
    size: int | None = Field(
        default=None, validation_alias=AliasChoices("size", "memberCount", "participantCount")
    )
    participants: ApiParticipants = ()


class CreatedGroup(ApiModel):
    """A new group, with per-participant results when the API reported them."""

    group: Group
    results: tuple[ParticipantResult, ...] = ()
