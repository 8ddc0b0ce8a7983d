"""The plan file: versioned JSON whose checksum catches any change."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from reconciler.engine import planfile
from reconciler.engine.plan import Plan
from reconciler.engine.planfile import checksum
from reconciler.engine.planner import plan
from reconciler.errors import PlanFileError
from tests.support.builders import ME, A, B, desired, have, jid, live, want

G1 = "120363000000000001@g.us"


def example() -> Plan:
    return plan(
        desired(
            want("eng", "Eng", {A: "admin", B: "member"}, id=G1, description="x"),
            names={A: "alice"},
        ),
        live(have(G1, "Old", {ME: "superadmin", A: "member"})),
    )


def test_a_plan_survives_the_round_trip_through_json() -> None:
    original = example()
    again = planfile.loads(planfile.dumps(original))
    assert again.groups == original.groups
    assert again.directory == dict(original.directory)
    assert planfile.dumps(again) == planfile.dumps(original)


def test_the_file_carries_version_summary_fingerprints_and_checksum() -> None:
    data = json.loads(planfile.dumps(example()))
    assert data["format_version"] == 2
    assert data["summary"].startswith("Plan: 1 to update")
    # The same figures as numbers, for a pipeline that gates on them.
    assert data["counts"]["update"] == 1
    assert data["counts"] == planfile.loads(planfile.dumps(example())).summary.counts()
    assert set(data["counts"]) >= {"create", "add", "remove", "demote", "refused", "unmanaged"}
    group = data["groups"][0]
    assert len(group["fingerprint"]) == 16
    assert group["snapshot"]["subject"] == "Old"
    assert data["checksum"].startswith("sha256:")


def test_the_fingerprint_changes_with_the_live_group() -> None:
    one = example().groups[0]
    other = plan(
        desired(want("eng", "Eng", {A: "admin", B: "member"}, id=G1)),
        live(have(G1, "Old", {ME: "superadmin", A: "admin"})),
    ).groups[0]
    assert one.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (
            lambda d: d["groups"][0]["actions"].append({"kind": "remove", "members": [A]}),
            "was changed after it was made",
        ),
        (lambda d: d.update(checksum="sha256:0"), "was changed after it was made"),
        (lambda d: d.update(format_version=3), "format version 3"),
        (lambda d: d.update(format_version=1), r"made by an older groupctl \(format version 1\)"),
        (lambda d: d.pop("checksum"), "was changed after it was made"),
    ],
)
def test_a_changed_plan_file_is_refused(tamper: object, message: str) -> None:
    data = json.loads(planfile.dumps(example()))
    tamper(data)  # type: ignore[operator]
    with pytest.raises(PlanFileError, match=message):
        planfile.loads(json.dumps(data))


def test_a_changed_plan_made_without_a_key_is_not_blamed_on_one() -> None:
    data = json.loads(planfile.dumps(example()))  # sealed without a key: sha256
    data["groups"][0]["actions"].clear()
    with pytest.raises(PlanFileError) as refused:
        planfile.loads(json.dumps(data))
    assert str(refused.value).endswith(
        "is refused: it was changed after it was made. Make a new plan."
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("directory", [], "directory"),
        ("unmanaged", "many", "unmanaged"),
        ("session", None, "session"),
    ],
)
def test_a_plan_file_of_the_wrong_shape_is_refused_even_with_a_good_checksum(
    field: str, value: object, message: str
) -> None:
    data = json.loads(planfile.dumps(example()))
    data[field] = value
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match=f"not a valid groupctl plan: {message}"):
        planfile.loads(json.dumps(data))


def test_an_action_with_more_than_256_members_is_refused() -> None:
    data = json.loads(planfile.dumps(example()))
    data["groups"][0]["actions"].append(
        {"kind": "remove", "members": [f"1212555{n:04d}@s.whatsapp.net" for n in range(257)]}
    )
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match=r"groups\.0\.actions"):
        planfile.loads(json.dumps(data))


def test_when_a_plan_was_made_and_its_config_files_travel_sealed_in_the_file() -> None:
    made = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    original = replace(example(), created=made, config_files={"groups.yaml": "ab" * 32})
    text = planfile.dumps(original)
    data = json.loads(text)
    assert (data["created"], data["config_files"]) == (
        "2026-03-01T09:30:00+00:00",
        {"groups.yaml": "ab" * 32},
    )
    again = planfile.loads(text)
    assert (again.created, again.config_files) == (made, {"groups.yaml": "ab" * 32})
    assert again.checksum == data["checksum"]  # what the state file records once applied


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("created", "2026-03-01T09:30:00", "has no time zone"),
        ("created", "yesterday", "yesterday"),
        ("config_files", {"groups.yaml": "not a hash"}, "config_files"),
    ],
)
def test_a_made_time_or_config_hash_that_cannot_be_read_is_refused(
    field: str, value: object, message: str
) -> None:
    data = json.loads(planfile.dumps(example()))
    data[field] = value
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match=message):
        planfile.loads(json.dumps(data))


@pytest.mark.parametrize("text", ["not json", "[]", "{}"])
def test_something_else_is_not_a_plan(text: str) -> None:
    with pytest.raises(PlanFileError):
        planfile.loads(text)


def with_lids() -> Plan:
    """A plan that removes A, whom the live group shows with a LID."""
    return plan(
        desired(want("eng", "Eng", {}, id=G1)),
        live(have(G1, "Eng", {ME: "superadmin", A: "member"}, lids={A: "4401@lid"})),
    )


def test_both_addresses_of_a_member_survive_the_round_trip() -> None:
    original = with_lids()
    data = json.loads(planfile.dumps(original))
    assert data["groups"][0]["actions"][0]["via"] == {
        "14155550101@s.whatsapp.net": ["4401@lid", "14155550101@s.whatsapp.net"]
    }
    assert planfile.loads(planfile.dumps(original)).groups == original.groups


@pytest.mark.parametrize(
    ("via", "message"),
    [
        ({"14155550101@s.whatsapp.net": ["4499@lid", "14155550101@s.whatsapp.net"]}, "is 4401@lid"),
        ({"14155550102@s.whatsapp.net": ["4402@lid", "14155550102@s.whatsapp.net"]}, "a member"),
        ({"14155550101@s.whatsapp.net": ["14155550102@s.whatsapp.net", A]}, "must be a LID"),
        ({"14155550101@s.whatsapp.net": ["4401@lid"]}, "a member, with one other address"),
        ({"14155550101@s.whatsapp.net": [A, A]}, "a member, with one other address"),
        ({"14155550101@s.whatsapp.net": ["4401@lid", "4401@lid"]}, "with one other address"),
    ],
    ids=["another-lid", "not-a-member", "another-number", "one-address", "twice", "lid-twice"],
)
def test_a_plan_file_that_would_act_on_someone_else_than_the_member_is_refused(
    via: dict[str, list[str]], message: str
) -> None:
    data = json.loads(planfile.dumps(with_lids()))
    data["groups"][0]["actions"][0]["via"] = via
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match=f"not a valid groupctl plan.*{message}"):
        planfile.loads(json.dumps(data))


def test_a_plan_file_without_addresses_still_reads_each_member_as_their_own() -> None:
    data = json.loads(planfile.dumps(with_lids()))
    del data["groups"][0]["actions"][0]["via"]
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    (remove,) = planfile.loads(json.dumps(data)).groups[0].actions
    assert remove.addresses() == {jid(A): (jid(A),)}


def test_odd_snapshot_members_beside_addresses_do_not_break_reading() -> None:
    data = json.loads(planfile.dumps(with_lids()))
    data["groups"][0]["snapshot"]["members"] += [[], ["1"], "x", 5]
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    (remove,) = planfile.loads(json.dumps(data)).groups[0].actions
    assert remove.addresses() == {jid(A): (jid("4401@lid"), jid(A))}


def test_a_groups_invite_message_travels_in_the_plan_file_and_is_checked_there() -> None:
    with_message = plan(
        desired(want("eng", "Eng", {A: "member"}, id=G1, invite_message="Join: {link}")),
        live(have(G1, "Eng", {ME: "superadmin"})),
    )
    assert with_message.groups[0].invite_message == "Join: {link}"
    again = planfile.loads(planfile.dumps(with_message))
    assert again.groups[0].invite_message == "Join: {link}"
    assert "invite_message" not in json.loads(planfile.dumps(example()))["groups"][0]
    data = json.loads(planfile.dumps(with_message))
    data["groups"][0]["invite_message"] = "{link.__class__}"  # not a plain placeholder
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match="unknown placeholder"):
        planfile.loads(json.dumps(data))


def _refused_with_via(plan_: Plan, via: dict[str, list[str]], message: str) -> None:
    data = json.loads(planfile.dumps(plan_))
    data["groups"][0]["actions"][0]["via"] = via
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match=f"not a valid groupctl plan.*{message}"):
        planfile.loads(json.dumps(data))


def test_a_removal_by_a_lid_the_live_group_never_showed_is_refused() -> None:
    removing = plan(
        desired(want("eng", "Eng", {}, id=G1)),
        live(have(G1, "Eng", {ME: "superadmin", A: "member"})),
    )
    _refused_with_via(removing, {str(jid(A)): ["4499@lid", str(jid(A))]}, "has no LID")


def test_an_add_acted_on_by_another_address_first_is_refused() -> None:
    adding = plan(
        desired(want("eng", "Eng", {A: "member"}, id=G1)),
        live(have(G1, "Eng", {ME: "superadmin"})),
    )
    _refused_with_via(adding, {str(jid(A)): ["4499@lid", str(jid(A))]}, "first")
