"""API payloads are read in every shape titan-api.md names."""

from __future__ import annotations

import pydantic
import pytest

from reconciler.titan.models import PARTICIPANTS, Group
from reconciler.titan.results import NOT_REPORTED, parse_participant_results
from tests.support.harness import ALICE, BOB, jid

A, B = jid(ALICE), jid(BOB)


@pytest.mark.parametrize(
    "shape",
    [
        {"results": [{"jid": str(A), "status": 200}, {"jid": str(B), "status": 403}]},
        {str(A): {"code": 200}, str(B): {"code": 403, "message": "invite sent"}},
        [{"jid": str(A), "status": "200"}, {"jid": str(B), "status": "403"}],
        [{"id": "14155550101@c.us", "code": 200}, {"participant": str(B), "statusCode": 403}],
        [{"JID": str(A), "Error": 0}, {"JID": str(B), "Error": 403}],
    ],
    ids=["titan", "whatsapp-web.js", "baileys", "aliases", "whatsmeow"],
)
def test_participant_results_are_read_in_every_known_shape(shape: object) -> None:
    results = parse_participant_results(shape, [A, B])
    assert [(r.jid, r.status) for r in results] == [(A, 200), (B, 403)]


EXPIRES = 1736937000
# What each engine answers when B's privacy settings refuse the add (titan-api.md), and what
# is read from it: (status, invite sent, add request code, its expiration).
REFUSED_SHAPES: dict[str, tuple[object, tuple[int, bool, str | None, int | None]]] = {
    "simulator": (
        {
            "results": [
                {"jid": str(A), "status": 200},
                {
                    "jid": str(B),
                    "status": 403,
                    "addRequest": {"code": "AbC123", "expiration": EXPIRES},
                    "inviteSent": False,
                },
            ]
        },
        (403, False, "AbC123", EXPIRES),
    ),
    "whatsapp-web.js, invite sent": (
        {
            str(A): {"code": 200, "message": "added", "isInviteV4Sent": False},
            str(B): {"code": 403, "message": "invite only", "isInviteV4Sent": True},
        },
        (403, True, None, None),
    ),
    "whatsapp-web.js, not sent": (
        {str(A): {"code": 200}, str(B): {"code": 403, "isInviteV4Sent": False}},
        (403, False, None, None),
    ),
    "baileys": (
        [
            {"status": "200", "jid": str(A), "content": {"tag": "participant", "attrs": {}}},
            {
                "status": "403",
                "jid": str(B),
                "content": {
                    "tag": "participant",
                    "attrs": {"jid": str(B), "error": "403"},
                    "content": [
                        {
                            "tag": "add_request",
                            "attrs": {"code": "AbC123", "expiration": str(EXPIRES)},
                        }
                    ],
                },
            },
        ],
        (403, False, "AbC123", EXPIRES),
    ),
    "whatsmeow, by LID": (
        [
            {"JID": str(A), "PhoneNumber": str(A), "LID": "", "IsAdmin": False, "Error": 0},
            {
                "JID": "998877@lid",
                "PhoneNumber": str(B),
                "LID": "998877@lid",
                "IsAdmin": False,
                "IsSuperAdmin": False,
                "Error": 403,
                "AddRequest": {"Code": "AbC123", "Expiration": "2025-01-15T10:30:00Z"},
            },
        ],
        (403, False, "AbC123", EXPIRES),
    ),
    "invite.sent": (
        [{"jid": str(A), "status": 200}, {"jid": str(B), "status": 403, "invite": {"sent": True}}],
        (403, True, None, None),
    ),
    "invited": (
        [{"jid": str(A), "status": 200}, {"jid": str(B), "status": 403, "invited": True}],
        (403, True, None, None),
    ),
}


@pytest.mark.parametrize(("shape", "expected"), REFUSED_SHAPES.values(), ids=REFUSED_SHAPES.keys())
def test_a_refused_add_is_read_with_its_invite_in_every_engine_shape(
    shape: object, expected: tuple[int, bool, str | None, int | None]
) -> None:
    added, refused = parse_participant_results(shape, [A, B])
    assert (added.jid, added.status, added.invite_sent) == (A, 200, False)
    request = refused.add_request
    code, expiration = (request.code, request.expiration) if request else (None, None)
    assert (refused.jid, refused.status, refused.invite_sent, code, expiration) == (B, *expected)


@pytest.mark.parametrize(
    "request_",
    [
        {"Code": "", "Expiration": 1},
        {"code": 5},
        "AbC123",
        {"code": "AbC123", "expiration": "soon"},
    ],
    ids=["empty-code", "number-code", "not-an-object", "bad-expiration"],
)
def test_an_unreadable_add_request_never_makes_the_answer_unreadable(request_: object) -> None:
    (result,) = parse_participant_results(
        [{"jid": str(B), "status": 403, "addRequest": request_}], [B]
    )
    assert result.status == 403
    if isinstance(request_, dict) and request_.get("code") == "AbC123":
        assert result.add_request is not None
        assert (result.add_request.code, result.add_request.expiration) == ("AbC123", None)
    else:
        assert result.add_request is None


def test_an_answer_without_detail_means_everyone_succeeded_unconfirmed() -> None:
    results = parse_participant_results({"success": True}, [A, B])
    assert [(r.status, r.per_person) for r in results] == [(200, False), (200, False)]
    assert [r.status for r in parse_participant_results(None, [A])] == [200]
    detailed = parse_participant_results([{"jid": str(A), "status": 200}], [A])
    assert detailed[0].per_person


def test_a_participant_missing_from_a_detailed_answer_is_not_counted_as_done() -> None:
    results = parse_participant_results({"results": [{"jid": str(A), "status": 200}]}, [A, B])
    assert [(r.jid, r.status) for r in results] == [(A, 200), (B, NOT_REPORTED)]
    assert not results[1].ok


def test_a_result_for_someone_not_asked_for_leaves_the_one_asked_for_unreported() -> None:
    results = parse_participant_results([{"jid": str(A), "status": 200}], [B])
    assert [(r.jid, r.status) for r in results] == [(A, 200), (B, NOT_REPORTED)]


@pytest.mark.parametrize(
    ("raw", "phone", "lid", "admin", "super_admin"),
    [
        (
            {
                "phoneNumber": "+5511999999999",
                "lid": "998877@lid",
                "isAdmin": False,
                "isSuperAdmin": False,
            },
            "5511999999999",
            "998877",
            False,
            False,
        ),
        ({"lid": "998877@lid", "isAdmin": True}, None, "998877", True, False),
        (
            {"phoneNumber": "5511999999999@s.whatsapp.net", "isSuperAdmin": True},
            "5511999999999",
            None,
            True,
            True,
        ),
        ({"id": "5511999999999@c.us", "admin": "admin"}, "5511999999999", None, True, False),
        ({"id": "998877@lid", "admin": None}, None, "998877", False, False),
    ],
    ids=["seed", "lid-only", "super-admin-implies-admin", "waha", "waha-lid"],
)
def test_participants_are_read_in_titan_and_waha_shapes(
    raw: dict[str, object], phone: str | None, lid: str | None, admin: bool, super_admin: bool
) -> None:
    (participant,) = PARTICIPANTS.validate_python([raw])
    assert (participant.phone.user if participant.phone else None) == phone
    assert (participant.lid.user if participant.lid else None) == lid
    assert (participant.is_admin, participant.is_super_admin) == (admin, super_admin)


def test_a_participant_without_any_address_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="phoneNumber or a lid"):
        PARTICIPANTS.validate_python([{"isAdmin": True}])


def test_a_lid_in_the_phone_field_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="not a phone number"):
        PARTICIPANTS.validate_python([{"phoneNumber": "123@lid"}])


def test_the_seed_group_example_is_read() -> None:
    group = Group.model_validate(
        {
            "id": "120363012345678901@g.us",
            "name": "Team Announcements",
            "description": "...",
            "ownerLid": "12345678@lid",
            "createdAt": 1705315200,
            "participants": [
                {
                    "phoneNumber": "+5511999999999",
                    "lid": "998877@lid",
                    "isAdmin": False,
                    "isSuperAdmin": False,
                }
            ],
        }
    )
    assert group.id.user == "120363012345678901"
    assert group.owner_lid is not None
    assert group.owner_lid.is_lid
    assert group.participants is not None
    assert len(group.participants) == 1


def test_group_times_may_be_iso_strings_and_names_may_be_subjects() -> None:
    group = Group.model_validate(
        {"id": "1@g.us", "subject": "Eng", "creation": "2024-01-15T10:40:00Z"}
    )
    assert (group.name, group.created_at, group.participants) == ("Eng", 1705315200, None)


def test_an_entry_seen_again_is_read_the_same_and_shared() -> None:
    entries = [{"phoneNumber": "+5511999999999", "lid": "998877@lid", "isAdmin": True}]
    first, again = PARTICIPANTS.validate_python(entries), PARTICIPANTS.validate_python(entries)
    assert first == again
    assert first[0] is again[0]
    assert (first[0].jid, first[0].lid, first[0].is_admin) == (
        jid("+5511999999999"),
        "998877@lid",
        True,
    )


def test_flags_that_are_numbers_are_refused_even_for_someone_read_before() -> None:
    PARTICIPANTS.validate_python([{"phoneNumber": "+5511999999998", "isAdmin": True}])
    with pytest.raises(pydantic.ValidationError, match="true or false"):
        PARTICIPANTS.validate_python([{"phoneNumber": "+5511999999998", "isAdmin": 1}])


def test_an_address_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError, match="expected a JID string"):
        PARTICIPANTS.validate_python([{"phoneNumber": ["+5511999999999"]}])


def test_other_shapes_are_not_taken_for_a_titan_entry_seen_before() -> None:
    PARTICIPANTS.validate_python([{"lid": "998866@lid"}])
    (waha,) = PARTICIPANTS.validate_python([{"lid": "998866@lid", "phone": "+5511999999997"}])
    assert waha.phone == jid("+5511999999997")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("isAdmin", 1), ("isAdmin", 1.0), ("isSuperAdmin", 0), ("isSuperAdmin", 0.0)],
)
def test_a_whole_titan_entry_with_a_flag_that_is_a_number_is_refused_after_its_twin(
    flag: str, value: object
) -> None:
    entry = {
        "phoneNumber": "+5511999999995",
        "lid": "998844@lid",
        "isAdmin": True,
        "isSuperAdmin": False,
    }
    PARTICIPANTS.validate_python([entry])
    with pytest.raises(pydantic.ValidationError, match="true or false"):
        PARTICIPANTS.validate_python([{**entry, flag: value}])


def test_an_entry_of_four_keys_not_all_titan_s_is_not_taken_for_one_seen_before() -> None:
    titan = {"phoneNumber": "+5511999999994", "lid": "998833@lid", "isSuperAdmin": False}
    PARTICIPANTS.validate_python([{**titan, "isAdmin": False}])
    (waha,) = PARTICIPANTS.validate_python([{**titan, "admin": "admin"}])
    assert waha.is_admin


def test_a_null_address_is_not_taken_for_a_missing_one() -> None:
    PARTICIPANTS.validate_python([{"phoneNumber": None, "lid": "998822@lid"}])
    with pytest.raises(pydantic.ValidationError, match="true or false"):
        PARTICIPANTS.validate_python([{"isAdmin": None, "lid": "998822@lid"}])


def test_a_participant_carries_its_address_and_standing_as_a_plan_compares_them() -> None:
    both, lid_only, creator = PARTICIPANTS.validate_python(
        [
            {"phoneNumber": "+5511999999993", "lid": "998811@lid", "isAdmin": True},
            {"lid": "998800@lid"},
            {"phoneNumber": "+5511999999992", "isSuperAdmin": True},
        ]
    )
    assert (both.jid, both.member.admin, both.member.lid) == (
        jid("+5511999999993"),
        True,
        "998811@lid",
    )
    # Known by its LID alone: the LID is its address, not a second one beside it.
    assert (lid_only.jid, lid_only.member.admin, lid_only.member.lid) == ("998800@lid", False, None)
    assert (creator.member.admin, creator.member.super_admin) == (True, True)
