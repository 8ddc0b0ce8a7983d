"""Where Titan cannot show a group's picture, the planner decides from the state file's record
of the last picture apply uploaded, and says so; the plan's snapshot holds that record, so a
saved plan goes stale when another apply uploads a picture in the meantime."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler.core.groups import LiveGroup, LocalPicture, UploadedPicture
from reconciler.engine.freshness import describe
from reconciler.engine.plan import snapshot_fingerprint, snapshot_of
from reconciler.engine.planner import plan
from tests.support.builders import ME, desired, have, live, steps, want

G1 = "120363000000000001@g.us"
LOGO = LocalPicture(Path("logo.png"), shown="logo.png")
WANTED = "ff00ff00ff00ff00"
MONDAY = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def unreadable(uploaded: str | None) -> LiveGroup:
    """Eng, whose picture Titan cannot show; `uploaded`: the state file's record, if any."""
    record = UploadedPicture(uploaded, MONDAY) if uploaded else None
    return replace(have(G1, "Eng", {ME: "superadmin"}), picture_unreadable=True, uploaded=record)


@pytest.mark.parametrize(
    ("uploaded", "expected", "said"),
    [
        (WANTED, [], None),
        ("ff00ff00ff00ff01", [], None),  # the same picture, re-encoded
        ("00ff00ff00ff00ff", [("picture", "logo.png")], "another picture, uploaded on 2026-11-23"),
        (None, [("picture", "logo.png")], "no picture uploaded to this group"),
    ],
    ids=["same", "same-after-re-encoding", "different", "no-record"],
)
def test_without_a_getter_the_record_of_the_last_upload_decides(
    uploaded: str | None, expected: list[tuple[str, ...]], said: str | None
) -> None:
    result = plan(
        desired(want("eng", "Eng", picture=LOGO)),
        live(unreadable(uploaded), pictures={LOGO: WANTED}),
    )
    if said is None:
        assert result.groups == ()  # nothing to do, and nothing to say
        return
    (group,) = result.groups
    assert steps(group) == expected
    assert group.actions[0].fingerprint == WANTED  # apply uploads only that picture
    (note,) = group.notes
    assert note.startswith("picture: Titan cannot show the live picture, so the state file decides")
    assert said in note
    assert "a picture changed by hand in WhatsApp goes unseen" in note


def test_a_group_whose_picture_the_config_leaves_alone_needs_no_record() -> None:
    result = plan(desired(want("eng", "Eng")), live(unreadable(None), pictures={}))
    assert result.groups == ()


def test_a_new_group_gets_its_picture_without_a_note() -> None:
    result = plan(desired(want("new", "New", picture=LOGO)), live(pictures={LOGO: WANTED}))
    (group,) = result.groups
    assert [a.kind.value for a in group.actions] == ["create", "picture"]
    assert group.notes == ()


def test_the_snapshot_holds_the_record_and_another_upload_changes_its_fingerprint() -> None:
    other = "00ff00ff00ff00ff"
    none, before, after = (snapshot_of(unreadable(u)) for u in (None, WANTED, other))
    assert none["picture"] == "unreadable, no upload recorded"
    assert before["picture"] == f"unreadable, last uploaded {WANTED}"
    assert snapshot_fingerprint(before) != snapshot_fingerprint(after)
    assert snapshot_fingerprint(before) == snapshot_fingerprint(snapshot_of(unreadable(WANTED)))
    assert describe(before, after) == [
        f"picture: 'unreadable, last uploaded {WANTED}' -> 'unreadable, last uploaded {other}'"
    ]


def test_a_picture_read_through_the_getter_is_in_the_snapshot_as_before() -> None:
    read = have(G1, "Eng", {ME: "superadmin"}, picture=WANTED, picture_known=True)
    assert snapshot_of(read)["picture"] == WANTED
    assert snapshot_of(have(G1, "Eng", {ME: "superadmin"}))["picture"] == "not read"
