"""Titan's webhook events, read in every shape Titan's pages show (titan-api.md, "Webhooks").

The envelope is `{id: "evt_…", event, session, timestamp, payload}`; asynchronous command
results carry `data` instead of `payload`. In group events the group is its id, a string or a
JIDRef `{"id": "…@g.us"}`, and each person a JID string or a JIDRef
`{"phoneNumber": "+55…", "lid": "…", "mode": "pn" | "lid"}` (the number may be missing, or
written as a JID; the LID may come with or without `@lid`). A group event that cannot be read
this way is malformed, and refused before any API call.

The envelope's `timestamp` (when Titan sent it) has no documented form: an ISO 8601 time (UTC
when it names no zone), or a Unix time in seconds or milliseconds, as a number or digits. A
delivery without one is read all the same; one that cannot be read as a time is malformed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from reconciler.core.jid import Jid, JidKind, jid_from_api
from reconciler.errors import GroupctlError, InvalidJidError

GROUP_EVENTS = frozenset({"group.update", "group.participant"})
SESSION_STATUS = "session.status"
PEOPLE_FIELDS = frozenset({"joined", "left", "promoted", "demoted"})


class MalformedEventError(GroupctlError):
    """A delivery that is not a Titan event groupctl can read (answered 400)."""


@dataclass(frozen=True, slots=True)
class Person:
    """Someone in an event: the phone JID, the LID, or both."""

    phone: Jid | None = None
    lid: Jid | None = None

    @property
    def addresses(self) -> frozenset[Jid]:
        return frozenset(a for a in (self.phone, self.lid) if a is not None)


# One thing an event says changed: a field and its value (a person, or a text such as a
# new subject).
Change = tuple[str, Person | str]


@dataclass(frozen=True, slots=True)
class Event:
    """A delivery, read. `sent_at` when the envelope says; `group` and `changes` for group
    events; `status` and `status_reason` for `session.status` (None when its payload does not
    say: the session must be read)."""

    id: str
    name: str | None
    session: str | None
    sent_at: datetime | None = None
    group: Jid | None = None
    changes: tuple[Change, ...] = ()
    joined_by_invite: bool = False  # the session itself joined the group
    status: str | None = None
    status_reason: str | None = None


MAX_ID_LENGTH = 256


def read_event(data: Any) -> Event:
    """The event in a delivery's JSON; MalformedEventError says what is wrong with it."""
    if not (isinstance(data, dict) and isinstance(data.get("id"), str)):
        raise MalformedEventError("not a Titan event: no id")
    if len(data["id"]) > MAX_ID_LENGTH:  # ids are remembered, to refuse replays
        raise MalformedEventError(f"not a Titan event: an id over {MAX_ID_LENGTH} characters")
    name, session = data.get("event"), data.get("session")
    event = Event(
        id=data["id"],
        name=name if isinstance(name, str) else None,
        session=session if isinstance(session, str) else None,
        sent_at=sent_at(data.get("timestamp")),
    )
    payload = data["payload"] if data.get("payload") is not None else data.get("data")
    if event.name in GROUP_EVENTS:
        return _group_event(event, payload)
    if event.name == SESSION_STATUS and isinstance(payload, dict):
        status, reason = payload.get("status"), payload.get("statusReason")
        return replace(
            event,
            status=status if isinstance(status, str) and status else None,
            status_reason=reason if isinstance(reason, str) and reason else None,
        )
    return event


_MILLISECONDS = 100_000_000_000  # a Unix time above this is in milliseconds (seconds: year 5138)


def sent_at(value: Any) -> datetime | None:
    """When an envelope's `timestamp` says the delivery was sent, in UTC."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, str) and not value.isdigit():
            when = datetime.fromisoformat(value)
            return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            seconds = float(value)
            if seconds > _MILLISECONDS:
                seconds /= 1000
            return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):  # not a time, or none a computer can hold
        pass
    raise MalformedEventError(f"the timestamp {str(value)[:40]!r} is not a time")


def _group_event(event: Event, payload: Any) -> Event:
    if not isinstance(payload, dict):
        raise MalformedEventError(f"{event.name} without a payload object")
    group = _group(payload.get("id"))
    changes: list[Change] = []
    for field_name, value in payload.items():
        if field_name in ("id", "action"):
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            if field_name in PEOPLE_FIELDS:
                changes.append((field_name, read_person(item)))
            else:
                changes.append((field_name, _text(item)))
    return replace(
        event,
        group=group,
        changes=tuple(changes),
        joined_by_invite=payload.get("action") == "joined",
    )


def _group(value: Any) -> Jid:
    if isinstance(value, dict):
        value = value.get("id")
    try:
        group = jid_from_api(value) if isinstance(value, str) else None
    except InvalidJidError:
        group = None
    if group is None or not group.is_group:
        raise MalformedEventError(f"the event's group id {value!r} is not a group JID")
    return group


def read_person(value: Any) -> Person:
    """A person as an event gives them: a JID string or a JIDRef object."""
    if isinstance(value, str):
        jid = _address(value, JidKind.PHONE)
        if jid is not None and jid.is_phone:
            return Person(phone=jid)
        if jid is not None and jid.is_lid:
            return Person(lid=jid)
        raise MalformedEventError(f"{value!r} is not a person's JID")
    if not isinstance(value, dict):
        raise MalformedEventError(f"a person must be a JID or a JIDRef, not {value!r}")
    phone = _address(value.get("phoneNumber"), JidKind.PHONE)
    lid = _address(value.get("lid"), JidKind.LID)
    if (phone is not None and not phone.is_phone) or (lid is not None and not lid.is_lid):
        raise MalformedEventError(f"the JIDRef {value!r} mixes up its phone number and LID")
    if phone is None and lid is None:
        raise MalformedEventError(f"the JIDRef {value!r} has neither a phone number nor a LID")
    return Person(phone=phone, lid=lid)


def _address(value: Any, bare: JidKind) -> Jid | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedEventError(f"{value!r} is not an address")
    try:
        return jid_from_api(value, bare=bare)
    except InvalidJidError:
        raise MalformedEventError(f"{value!r} is not an address groupctl can read") from None


def _text(value: Any) -> str:
    """A changed value, compared with what watch set: addresses normalized, others as text."""
    if isinstance(value, str) and "@" in value:
        try:
            return str(jid_from_api(value))
        except InvalidJidError:
            return value
    return str(value)
