"""Webhook deliveries are read in every shape Titan documents: JIDRef or JID people, the group
id as a string or `{"id"}`, `payload` or `data`; anything else is malformed."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from reconciler.core.jid import parse_jid
from reconciler.watch.events import MalformedEventError, Person, read_event

TEAM = "120363000000000001@g.us"
ALICE = parse_jid("+14155550101")
ALICE_LID = parse_jid("204355791230411@lid")


def participant(*people: Any, payload_key: str = "payload", group: Any = TEAM) -> dict[str, Any]:
    return {
        "id": "evt_1",
        "event": "group.participant",
        "session": "default",
        "timestamp": "2026-01-01T00:00:00Z",
        payload_key: {"id": group, "left": list(people)},
    }


@pytest.mark.parametrize(
    ("person", "expected"),
    [
        (
            {"phoneNumber": "+14155550101", "lid": "204355791230411@lid", "mode": "pn"},
            Person(ALICE, ALICE_LID),
        ),
        (
            {"phoneNumber": None, "lid": "204355791230411@lid", "mode": "lid"},
            Person(None, ALICE_LID),
        ),
        ({"lid": "204355791230411", "mode": "lid"}, Person(None, ALICE_LID)),  # no @lid
        ({"phoneNumber": "14155550101@s.whatsapp.net", "mode": "pn"}, Person(ALICE, None)),
        ({"phoneNumber": "", "lid": "204355791230411@lid"}, Person(None, ALICE_LID)),
        ("14155550101@s.whatsapp.net", Person(ALICE, None)),
        ("14155550101@c.us", Person(ALICE, None)),
        ("14155550101:12@s.whatsapp.net", Person(ALICE, None)),  # a device of the person
        ("+14155550101", Person(ALICE, None)),
        ("204355791230411@lid", Person(None, ALICE_LID)),
    ],
)
def test_a_person_is_read_from_a_jidref_or_a_jid(person: Any, expected: Person) -> None:
    event = read_event(participant(person))
    assert event.group == parse_jid(TEAM)
    assert event.changes == (("left", expected),)


@pytest.mark.parametrize(
    "envelope",
    [
        participant("14155550101@s.whatsapp.net", group={"id": TEAM}),  # group as a JIDRef
        participant("14155550101@s.whatsapp.net", payload_key="data"),  # command.result style
    ],
    ids=["group-jidref", "data"],
)
def test_the_group_and_the_payload_are_read_in_either_documented_shape(
    envelope: dict[str, Any],
) -> None:
    event = read_event(envelope)
    assert (event.name, event.session, event.group) == (
        "group.participant",
        "default",
        parse_jid(TEAM),
    )
    assert event.changes == (("left", Person(ALICE, None)),)


def test_group_updates_keep_their_values_and_a_join_by_invite_is_flagged() -> None:
    update = {"id": "evt_2", "event": "group.update", "session": "default"}
    event = read_event(
        {**update, "payload": {"id": TEAM, "newSubject": "Team", "newPicture": True}}
    )
    assert event.changes == (("newSubject", "Team"), ("newPicture", "True"))
    joined = read_event({**update, "payload": {"id": {"id": TEAM}, "action": "joined"}})
    assert (joined.joined_by_invite, joined.changes) == (True, ())


@pytest.mark.parametrize(
    ("payload", "status", "reason"),
    [
        (
            {"status": "DISCONNECTED", "statusReason": "TEMPORARY_BAN"},
            "DISCONNECTED",
            "TEMPORARY_BAN",
        ),
        ({"status": "CONNECTED"}, "CONNECTED", None),
        ({}, None, None),  # unreadable: the session is read instead
        (None, None, None),
    ],
)
def test_a_session_status_gives_its_status_when_it_says(
    payload: Any, status: str | None, reason: str | None
) -> None:
    event = read_event({"id": "evt_3", "event": "session.status", "payload": payload})
    assert (event.name, event.status, event.status_reason) == ("session.status", status, reason)


def test_events_watch_does_not_read_are_not_looked_into() -> None:
    event = read_event({"id": "evt_4", "event": "command.result", "data": ["anything"]})
    assert (event.name, event.group, event.changes) == ("command.result", None, ())


@pytest.mark.parametrize(
    ("envelope", "says"),
    [
        ({"event": "group.update"}, "no id"),
        ({"id": 7, "event": "group.update"}, "no id"),
        ({"id": "evt_5", "event": "group.update"}, "without a payload"),
        ({"id": "evt_5", "event": "group.update", "payload": ["x"]}, "without a payload"),
        (participant("x@s.whatsapp.net", group=None), "not a group JID"),
        (participant("x@s.whatsapp.net", group="14155550101@s.whatsapp.net"), "not a group JID"),
        (participant("x@s.whatsapp.net", group={"id": 5}), "not a group JID"),
        (participant({}), "neither a phone number nor a LID"),
        (participant({"mode": "lid", "phoneNumber": None, "lid": None}), "neither"),
        (participant({"phoneNumber": "204355791230411@lid"}), "mixes up"),
        (participant({"lid": "14155550101@s.whatsapp.net"}), "mixes up"),
        (participant({"phoneNumber": 14155550101}), "not an address"),
        (participant("not a jid"), "not an address groupctl can read"),
        (participant(TEAM), "not a person"),
        (participant(5), "a JID or a JIDRef"),
    ],
)
def test_a_delivery_that_is_not_a_readable_titan_event_is_malformed(
    envelope: dict[str, Any], says: str
) -> None:
    with pytest.raises(MalformedEventError, match=says):
        read_event(envelope)


def test_a_signature_header_beyond_ascii_is_no_signature_not_a_crash() -> None:
    from reconciler.watch.intake import signed

    assert signed(b"secret-key", "sha256=\xe9\xe9", b"{}") is False


def test_an_event_id_too_long_to_remember_is_refused() -> None:
    with pytest.raises(MalformedEventError, match="over 256 characters"):
        read_event({"id": "e" * 257, "event": "group.update", "payload": {"id": "1@g.us"}})


NOON = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("timestamp", "sent"),
    [
        ("2026-06-01T12:00:00Z", NOON),  # as the simulator (and Titan's pages) write it
        ("2026-06-01T12:00:00.000Z", NOON),
        ("2026-06-01T14:00:00+02:00", NOON),
        ("2026-06-01T12:00:00", NOON),  # no zone: UTC
        ("2026-06-01 12:00:00", NOON),
        (NOON.timestamp(), NOON),  # Unix seconds
        (int(NOON.timestamp() * 1000), NOON),  # Unix milliseconds
        (str(int(NOON.timestamp())), NOON),
        (None, None),  # not said: taken, its id still remembered
    ],
)
def test_the_time_a_delivery_was_sent_is_read_in_every_likely_form(
    timestamp: Any, sent: datetime | None
) -> None:
    event = read_event({**participant("14155550101@s.whatsapp.net"), "timestamp": timestamp})
    assert event.sent_at == sent


@pytest.mark.parametrize(
    "timestamp", ["yesterday", "2026-13-01T00:00:00Z", True, [1], 1e300, float("nan")]
)
def test_a_timestamp_that_is_no_time_is_malformed(timestamp: Any) -> None:
    with pytest.raises(MalformedEventError, match="is not a time"):
        read_event({**participant("14155550101@s.whatsapp.net"), "timestamp": timestamp})


def test_a_null_payload_beside_data_reads_the_data() -> None:
    event = read_event(
        {
            "id": "evt_1",
            "event": "session.status",
            "session": "default",
            "payload": None,
            "data": {"status": "CONNECTED"},
        }
    )
    assert event.status == "CONNECTED"


def test_watchs_warnings_are_whole_json_lines_with_their_level() -> None:
    import io
    import json
    import logging

    from reconciler.util.logs import RedactingFormatter
    from reconciler.watch.reporting import report

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s", []))
    logger = logging.getLogger("reconciler")
    logger.addHandler(handler)
    try:
        report("healing_paused", level=logging.WARNING, session="default")
    finally:
        logger.removeHandler(handler)
    [line] = stream.getvalue().splitlines()
    assert json.loads(line)["level"] == "warning"
    assert json.loads(line)["event"] == "healing_paused"
