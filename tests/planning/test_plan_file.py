"""The plan file: versioned JSON whose checksum catches any change."""

from __future__ import annotations

import json

import pytest

from reconciler.errors import PlanFileError
from reconciler.plan import Plan, checksum
from reconciler.planner import plan
from tests.planning.builders import ME, A, B, desired, have, live, want

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
    again = Plan.from_json(original.to_json())
    assert again.groups == original.groups
    assert again.directory == dict(original.directory)
    assert again.to_json() == original.to_json()


def test_the_file_carries_version_summary_fingerprints_and_checksum() -> None:
    data = json.loads(example().to_json())
    assert data["format_version"] == 1
    assert data["summary"].startswith("Plan: 1 to update")
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
        (lambda d: d.update(format_version=2), "format version 2"),
        (lambda d: d.pop("checksum"), "was changed after it was made"),
    ],
)
def test_a_changed_plan_file_is_refused(tamper: object, message: str) -> None:
    data = json.loads(example().to_json())
    tamper(data)  # type: ignore[operator]
    with pytest.raises(PlanFileError, match=message):
        Plan.from_json(json.dumps(data))


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
    data = json.loads(example().to_json())
    data[field] = value
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match=f"not a valid groupctl plan: {message}"):
        Plan.from_json(json.dumps(data))


def test_an_action_with_more_than_256_members_is_refused() -> None:
    data = json.loads(example().to_json())
    data["groups"][0]["actions"].append(
        {"kind": "remove", "members": [f"1212555{n:04d}@s.whatsapp.net" for n in range(257)]}
    )
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match=r"groups\.0\.actions"):
        Plan.from_json(json.dumps(data))


@pytest.mark.parametrize("text", ["not json", "[]", "{}"])
def test_something_else_is_not_a_plan(text: str) -> None:
    with pytest.raises(PlanFileError):
        Plan.from_json(text)


def test_a_groups_invite_message_travels_in_the_plan_file_and_is_checked_there() -> None:
    with_message = plan(
        desired(want("eng", "Eng", {A: "member"}, id=G1, invite_message="Join: {link}")),
        live(have(G1, "Eng", {ME: "superadmin"})),
    )
    assert with_message.groups[0].invite_message == "Join: {link}"
    again = Plan.from_json(with_message.to_json())
    assert again.groups[0].invite_message == "Join: {link}"
    assert "invite_message" not in json.loads(example().to_json())["groups"][0]
    data = json.loads(with_message.to_json())
    data["groups"][0]["invite_message"] = "{link.__class__}"  # not a plain placeholder
    data["checksum"] = checksum({k: v for k, v in data.items() if k != "checksum"})
    with pytest.raises(PlanFileError, match="unknown placeholder"):
        Plan.from_json(json.dumps(data))
