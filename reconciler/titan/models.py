"""Titan API payloads as pydantic models.

Responses are parsed tolerantly (titan-api.md marks several shapes as inferred): aliases cover
Titan's, WAHA's and whatsapp-web.js's names for the same field, and addresses are normalized to
`Jid`. Per-participant results are in `results`. Request bodies are plain dicts built by the
client; the simulator checks them against its own models, written from titan-api.md.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    TypeAdapter,
    model_validator,
)

from reconciler.core.groups import Member, standing
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
    # Derived once, when the participant is read (each distinct one is read once, see
    # `read_participants`): a group's members are then collected without a call for each.
    jid: Jid = field(init=False, repr=False, compare=False)
    """The best address to act on this participant: the phone JID, else the LID."""
    member: Member = field(init=False, repr=False, compare=False)
    """Its standing as `core.groups` shows it: the LID is kept beside a phone number."""

    def __post_init__(self) -> None:
        address = self.phone or self.lid
        if address is None:
            raise ValueError("a participant needs a phoneNumber or a lid")
        object.__setattr__(self, "jid", address)
        lid = self.lid if self.phone is not None else None
        member = standing(admin=self.is_admin, super_admin=self.is_super_admin, lid=lid)
        object.__setattr__(self, "member", member)


_TITAN_KEYS = frozenset({"phoneNumber", "lid", "isAdmin", "isSuperAdmin"})
_TITAN_VALUES = operator.itemgetter("phoneNumber", "lid", "isAdmin", "isSuperAdmin")
# Participants already read, by the Titan-shaped entry they were read from. Reading is a pure
# function of its values, and a plan meets the same people in group after group: each distinct
# entry is read once and its (immutable) Participant shared. The key of an entry with Titan's
# four keys and no other is their values; of any other, their values (`_ABSENT` for a key it
# lacks) and its size. Only entries read without error, with no key but Titan's and flags that
# are booleans, are kept: an entry with the same key has no other key either. Emptied when
# full, so memory stays bounded.
_SEEN: dict[tuple[Any, ...], Participant] = {}
_SEEN_LIMIT = 1 << 16
_ABSENT: Any = object()  # a key the entry does not have


def read_participants(items: Any) -> tuple[Participant, ...]:
    """Participants from Titan's shape or WAHA's (`{"id": "<n>@c.us", "admin": "admin"}`).

    Raises ValueError (so pydantic reports it at its place) for anything else: a participant
    without an address, a LID in the phone field, a role that is not true or false.
    """
    if isinstance(items, tuple) and all(isinstance(i, Participant) for i in items):
        return items
    if not isinstance(items, list | tuple):
        raise ValueError(f"expected a list of participants, got {type(items).__name__}")
    seen, read, absent = _SEEN, [], _ABSENT
    for index, item in enumerate(items):
        key: tuple[Any, ...] | None = None
        if item.__class__ is dict:
            if len(item) == 4:  # the usual entry, if these are its keys: read in C
                try:
                    key = _TITAN_VALUES(item)
                except KeyError:
                    key = None
            if key is None:
                get = item.get
                key = (
                    get("phoneNumber", absent),
                    get("lid", absent),
                    get("isAdmin", absent),
                    get("isSuperAdmin", absent),
                    len(item),
                )
            # 1 and 0 equal True and False as keys: a flag that is not a boolean must not find
            # the entry read with one (it is refused below).
            admin, super_admin = key[2], key[3]
            if (admin is absent or admin.__class__ is bool) and (
                super_admin is absent or super_admin.__class__ is bool
            ):
                try:
                    participant = seen.get(key)
                except TypeError:  # unhashable: read below, which says what is wrong
                    key, participant = None, None
                if participant is not None:
                    read.append(participant)
                    continue
        participant = _read_participant(index, item)
        if key is not None and item.keys() <= _TITAN_KEYS and _boolean_flags(item):
            if len(seen) >= _SEEN_LIMIT:
                seen.clear()
            seen[key] = participant
        read.append(participant)
    return tuple(read)


def _boolean_flags(item: dict[str, Any]) -> bool:
    return all(item.get(flag, False).__class__ is bool for flag in ("isAdmin", "isSuperAdmin"))


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


# Read by `read_participants` alone: what it returns is checked already, and pydantic going
# over every participant again would cost as much as reading it.
ApiParticipants = Annotated[tuple[Participant, ...], PlainValidator(read_participants)]
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


def epoch_seconds(value: object) -> object:
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
                    data[key] = epoch_seconds(data[key])
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


class InviteInfo(ApiModel):
    """What an invite code leads to, as shown before joining."""

    id: ApiJid | None = None
    subject: str = Field(default="", validation_alias=AliasChoices("subject", "name"))
    size: int | None = Field(
        default=None, validation_alias=AliasChoices("size", "memberCount", "participantCount")
    )
    participants: ApiParticipants = ()
