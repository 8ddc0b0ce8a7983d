"""Phone numbers and JIDs are normalized, and bad ones are refused with the reason."""

from __future__ import annotations

import pytest

from reconciler.core.jid import Jid, JidKind, jid_from_api, parse_group_jid, parse_jid, parse_phone
from reconciler.errors import InvalidJidError

PHONE = JidKind.PHONE


@pytest.mark.parametrize(
    ("written", "country", "expected"),
    [
        ("+1 (415) 555-0101", None, "14155550101@s.whatsapp.net"),
        ("+1 415-555-0101", None, "14155550101@s.whatsapp.net"),
        ("+14155550101", None, "14155550101@s.whatsapp.net"),
        ("+44 20 7946 0958", None, "442079460958@s.whatsapp.net"),
        ("(415) 555-0101", "US", "14155550101@s.whatsapp.net"),
        ("020 7946 0958", "GB", "442079460958@s.whatsapp.net"),
        ("+55 11 99999-9999", None, "5511999999999@s.whatsapp.net"),
        ("14155550101@s.whatsapp.net", None, "14155550101@s.whatsapp.net"),
        ("14155550101@c.us", None, "14155550101@s.whatsapp.net"),
        ("  14155550101@c.us ", None, "14155550101@s.whatsapp.net"),
        ("123456789012345@lid", None, "123456789012345@lid"),
        ("120363012345678901@g.us", None, "120363012345678901@g.us"),
        ("14155550101-1600000000@g.us", None, "14155550101-1600000000@g.us"),
    ],
)
def test_written_forms_normalize_to_one_jid(
    written: str, country: str | None, expected: str
) -> None:
    assert str(parse_jid(written, default_country=country)) == expected


def test_the_same_person_written_four_ways_is_one_value() -> None:
    forms = ["+1 415-555-0101", "14155550101@s.whatsapp.net", "14155550101@c.us", "(415) 555-0101"]
    assert len({parse_jid(form, default_country="US") for form in forms}) == 1


@pytest.mark.parametrize(
    ("written", "country", "reason"),
    [
        ("415 555 0101", None, "has no country code"),
        ("+1 415 555", None, "too short"),
        ("+1 415 555 0101 1234", None, "too long"),
        ("+999 1234567", None, "unknown country code"),
        ("+1 011 555 0101", None, "not a valid phone number in"),
        ("alice", None, "is not a phone number or JID"),
        ("", None, "is not a phone number or JID"),
        ("1@example.com", None, "unknown JID server 'example.com'"),
        ("abc@lid", None, "is not a valid LID JID"),
        ("12@s.whatsapp.net", None, "is not a valid phone JID"),
        ("1999999999999@s.whatsapp.net", None, "not a valid phone number"),
        ("x@g.us", None, "is not a valid group JID"),
    ],
)
def test_bad_input_is_refused_saying_what_is_wrong(
    written: str, country: str | None, reason: str
) -> None:
    with pytest.raises(InvalidJidError, match=reason) as refused:
        parse_jid(written, default_country=country)
    assert repr(written) in str(refused.value)


def test_invalid_jid_error_is_a_value_error_for_pydantic() -> None:
    with pytest.raises(ValueError, match="no country code"):
        parse_phone("555 0101")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("+5511999999999", "5511999999999@s.whatsapp.net"),
        ("5511999999999", "5511999999999@s.whatsapp.net"),
        ("5511999999999@c.us", "5511999999999@s.whatsapp.net"),
        ("5511999999999:12@s.whatsapp.net", "5511999999999@s.whatsapp.net"),
        ("998877@lid", "998877@lid"),
        ("120363012345678901@g.us", "120363012345678901@g.us"),
    ],
)
def test_api_answers_are_read_tolerantly(answer: str, expected: str) -> None:
    assert str(jid_from_api(answer)) == expected


def test_bare_digits_in_a_lid_field_are_a_lid() -> None:
    assert str(jid_from_api("123456789012345", bare=JidKind.LID)) == "123456789012345@lid"
    assert str(jid_from_api("14155550101@s.whatsapp.net", bare=JidKind.LID)).endswith(".net")


@pytest.mark.parametrize("answer", ["+55 11 99999-9999", "+1 (415) 555-0101", "+1.415.555.0101"])
def test_api_phone_numbers_with_separators_are_read(answer: str) -> None:
    assert jid_from_api(answer).is_phone
    assert jid_from_api(answer).user.isdigit()


@pytest.mark.parametrize("answer", ["", "hello", "12@x.net", "+12ab"])
def test_unreadable_api_addresses_are_refused(answer: str) -> None:
    with pytest.raises(InvalidJidError, match="cannot read"):
        jid_from_api(answer)


def test_group_jids_must_be_groups() -> None:
    assert parse_group_jid("120363012345678901@g.us").is_group
    for not_group in ("14155550101@s.whatsapp.net", "+14155550101", "1@lid"):
        with pytest.raises(InvalidJidError, match="not a group JID"):
            parse_group_jid(not_group)


def test_display_and_e164() -> None:
    alice = Jid("14155550101", PHONE)
    assert alice.e164 == "+14155550101"
    assert alice.display() == "+1 415-555-0101"
    assert Jid("998877", JidKind.LID).display() == "998877@lid"
    with pytest.raises(InvalidJidError, match="not a phone number"):
        _ = Jid("998877", JidKind.LID).e164
