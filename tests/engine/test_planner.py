"""The planner: tables of (desired, live, expected actions), one rule or policy each."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from reconciler.core.groups import LocalPicture, UrlPicture
from reconciler.engine.plan import Kind, Plan
from reconciler.engine.planner import PlanPolicy, plan
from tests.support.builders import (
    ME,
    ME_LID,
    A,
    B,
    C,
    D,
    E,
    desired,
    have,
    jid,
    live,
    p,
    steps,
    want,
)

G1, G2, G3 = "120363000000000001@g.us", "120363000000000002@g.us", "120363000000000003@g.us"


def only_group(result: Plan) -> list[tuple[str, ...]]:
    assert len(result.groups) == 1, result.groups
    assert not result.groups[0].errors, result.groups[0].errors
    return steps(result.groups[0])


def refusal(result: Plan) -> str:
    assert len(result.groups) == 1
    group = result.groups[0]
    assert group.errors
    assert not group.actions, "a refused group is left alone entirely"
    return " ".join(group.errors)


# -- identity ----------------------------------------------------------------------------------


def test_plan_creates_a_group_no_live_group_matches() -> None:
    result = plan(desired(want("eng", "Eng", {A: "member", B: "admin"})), live())
    assert only_group(result) == [("create", "Eng", p(A), p(B)), ("promote", p(B))]
    assert result.groups[0].group_id is None


def test_plan_matches_a_group_without_id_by_its_exact_subject() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "member", B: "member"})),
    )
    assert only_group(result) == [("remove", p(B))]
    assert result.groups[0].group_id == jid(G1)


def test_plan_binds_a_group_by_id_and_renames_it() -> None:
    result = plan(
        desired(want("eng", "Engineering", {A: "member"}, id=G1)),
        live(have(G1, "Eng (old)", {ME: "superadmin", A: "member"})),
    )
    assert only_group(result) == [("subject", "Eng (old)", "Engineering")]


def test_plan_refuses_a_subject_two_live_groups_share() -> None:
    result = plan(
        desired(want("eng", "Eng")),
        live(have(G1, "Eng", {ME: "superadmin"}), have(G2, "Eng", {ME: "superadmin"})),
    )
    assert "2 live groups have the subject 'Eng'" in refusal(result)
    assert "add id:" in refusal(result)


def test_plan_refuses_an_id_the_session_is_not_in() -> None:
    result = plan(desired(want("eng", "Eng", id=G3)), live(have(G1, "Eng", {ME: "superadmin"})))
    assert f"its id {G3} is not among the session's groups" in refusal(result)


def test_a_group_bound_by_id_is_not_matched_by_subject_for_another_entry() -> None:
    result = plan(
        desired(want("a", "Eng", {A: "member"}, id=G1), want("b", "Eng", {A: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "member"})),
    )
    assert [(g.key, g.group_id, steps(g)[0][0]) for g in result.groups] == [("b", None, "create")]


def test_live_groups_no_entry_matches_are_unmanaged_counted_and_left_alone() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "member"}), others=12),
    )
    assert (result.groups, result.unmanaged) == ((), 12)


def test_a_group_that_matches_the_config_needs_no_plan() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "admin", B: "member"}, description="Hi")),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member"}, description="Hi")),
    )
    assert not result.has_changes
    assert result.groups == ()


# -- members: the table ------------------------------------------------------------------------

M, ADM = "member", "admin"

# (why, desired roles, live roles besides the session, members_policy, expected steps)
MEMBER_CASES = [
    ("nothing to do", {A: M, B: ADM}, {A: M, B: ADM}, "exact", []),
    ("a missing member is added", {A: M, B: M}, {A: M}, "exact", [("add", p(B))]),
    ("a member not listed is removed", {A: M}, {A: M, B: M}, "exact", [("remove", p(B))]),
    ("additive never removes", {A: M}, {A: M, B: M}, "additive", []),
    ("additive still adds", {A: M, B: M}, {A: M, C: M}, "additive", [("add", p(B))]),
    ("a member listed as admin is promoted", {A: ADM}, {A: M}, "exact", [("promote", p(A))]),
    ("an admin listed as member is demoted", {A: M}, {A: ADM}, "exact", [("demote", p(A))]),
    ("additive never demotes", {A: M}, {A: ADM}, "additive", []),
    (
        "a new admin is added, then promoted",
        {A: M, B: ADM},
        {A: M},
        "exact",
        [("add", p(B)), ("promote", p(B))],
    ),
    (
        "new admins come before old ones go",
        {B: ADM},
        {A: ADM},
        "exact",
        [("add", p(B)), ("promote", p(B)), ("remove", p(A))],
    ),
    (
        "an admin not listed is removed without a demotion first",
        {A: M},
        {A: M, B: ADM},
        "exact",
        [("remove", p(B))],
    ),
    (
        "every kind at once, in order",
        {A: ADM, B: M, D: M},
        {B: ADM, C: M},
        "exact",
        [("add", p(A), p(D)), ("promote", p(A)), ("demote", p(B)), ("remove", p(C))],
    ),
]


@pytest.mark.parametrize(
    ("wanted", "now", "policy", "expected"),
    [case[1:] for case in MEMBER_CASES],
    ids=[case[0] for case in MEMBER_CASES],
)
def test_members_table(
    wanted: dict[str, str], now: dict[str, str], policy: str, expected: list[tuple[str, ...]]
) -> None:
    result = plan(
        desired(want("eng", "Eng", wanted, id=G1, members_policy=policy)),
        live(have(G1, "Eng", {ME: "superadmin", **now})),
    )
    assert [steps(group) for group in result.groups] == ([expected] if expected else [])
    assert not any(group.errors for group in result.groups)


# -- actions and their order -------------------------------------------------------------------


def test_actions_come_in_order_subject_description_picture_add_promote_demote_remove() -> None:
    picture = LocalPicture(Path("logo.png"))
    result = plan(
        desired(
            want(
                "eng",
                "Engineering",
                {A: "admin", B: "member", C: "member"},
                id=G1,
                description="New",
                picture=picture,
            )
        ),
        live(
            have(
                G1,
                "Eng",
                {ME: "superadmin", B: "admin", C: "member", D: "member"},
                description="Old",
                picture="0" * 16,
                picture_known=True,
            ),
            pictures={picture: "f" * 16},
        ),
    )
    assert only_group(result) == [
        ("subject", "Eng", "Engineering"),
        ("description", "Old", "New"),
        ("picture", "logo.png"),
        ("add", p(A)),
        ("promote", p(A)),
        ("demote", p(B)),
        ("remove", p(D)),
    ]
    assert [a.kind.rank for a in result.groups[0].actions] == sorted(
        a.kind.rank for a in result.groups[0].actions
    )


def test_a_new_group_is_created_with_its_members_then_admins_promoted_without_the_session() -> None:
    result = plan(
        desired(
            want(
                "eng",
                "Eng",
                {ME: "admin", A: "admin", B: "member"},
                description="Text",
                picture=UrlPicture("https://x/p.jpg"),
            )
        ),
        live(pictures={UrlPicture("https://x/p.jpg"): "a" * 16}),
    )
    assert only_group(result) == [
        ("create", "Eng", p(A), p(B)),
        ("description", "", "Text"),
        ("picture", "https://x/p.jpg"),
        ("promote", p(A)),
    ]


def test_participants_are_batched_256_to_a_call() -> None:
    people = {f"+1212555{n:04d}": "member" for n in range(600)}
    created = only_group(plan(desired(want("big", "Big", people)), live()))
    assert [(kind, len(rest) - (1 if kind == "create" else 0)) for kind, *rest in created] == [
        ("create", 256),
        ("add", 256),
        ("add", 88),
    ]
    updated = only_group(
        plan(desired(want("big", "Big", people)), live(have(G1, "Big", {ME: "superadmin"})))
    )
    assert [(kind, len(rest)) for kind, *rest in updated] == [
        ("add", 256),
        ("add", 256),
        ("add", 88),
    ]


def test_a_description_the_config_leaves_out_is_left_alone_and_an_empty_one_clears_it() -> None:
    state = live(have(G1, "Eng", {ME: "superadmin"}, description="Kept"))
    assert plan(desired(want("eng", "Eng")), state).groups == ()
    cleared = plan(desired(want("eng", "Eng", description="")), state)
    assert only_group(cleared) == [("description", "Kept", "")]


# -- member policies -----------------------------------------------------------------------------


def test_exact_removes_members_missing_from_the_config_and_demotes_unlisted_admins() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member"})),
    )
    assert only_group(result) == [("demote", p(A)), ("remove", p(B))]


def test_additive_adds_and_promotes_but_never_removes_or_demotes() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member", C: "admin"}, members_policy="additive")),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member"})),
    )
    assert only_group(result) == [("add", p(C)), ("promote", p(C))]


def test_a_participant_known_only_by_lid_is_kept_and_noted_unless_asked() -> None:
    hidden = "998877@lid"
    state = live(have(G1, "Eng", {ME: "superadmin", A: "member", hidden: "member"}))
    kept = plan(desired(want("eng", "Eng", {A: "member"})), state)
    assert kept.groups[0].actions == ()
    assert "998877@lid is in the group but WhatsApp hides their number" in kept.groups[0].notes[0]
    removed = plan(
        desired(want("eng", "Eng", {A: "member"})), state, PlanPolicy(remove_unresolved=True)
    )
    assert only_group(removed) == [("remove", hidden)]


def test_a_person_listed_by_number_and_lid_matches_a_participant_shown_by_lid() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "admin"}, lids={A: "4455@lid"})),
        live(have(G1, "Eng", {ME: "superadmin", "4455@lid": "member"})),
    )
    assert only_group(result) == [("promote", "4455@lid")]


def test_a_person_listed_by_lid_only_matches_that_lid() -> None:
    result = plan(
        desired(want("eng", "Eng", {"4455@lid": "member"})),
        live(have(G1, "Eng", {ME: "superadmin"})),
    )
    assert only_group(result) == [("add", "4455@lid")]


def test_the_session_known_by_its_lid_is_the_session() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"})),
        live(have(G1, "Eng", {ME_LID: "superadmin", A: "member"})),
    )
    assert result.groups == ()


# -- absent groups -------------------------------------------------------------------------------


def test_an_absent_group_is_left() -> None:
    result = plan(
        desired(want("old", "Old", ensure="absent")),
        live(have(G1, "Old", {ME: "admin", A: "superadmin"})),
    )
    assert only_group(result) == [("leave",)]


def test_an_absent_group_is_deleted_when_asked_and_the_session_created_it() -> None:
    state = live(have(G1, "Old", {ME: "superadmin", A: "member"}))
    result = plan(desired(want("old", "Old", ensure="absent", absent_action="delete")), state)
    assert only_group(result) == [("delete",)]


def test_deleting_a_group_the_session_did_not_create_is_refused() -> None:
    result = plan(
        desired(want("old", "Old", ensure="absent", absent_action="delete")),
        live(have(G1, "Old", {ME: "admin", A: "superadmin"})),
    )
    assert "only its creator can delete it" in refusal(result)


def test_an_absent_group_that_is_already_gone_needs_nothing() -> None:
    assert plan(desired(want("old", "Old", ensure="absent")), live()).groups == ()
    gone_by_id = plan(desired(want("old", "Old", id=G3, ensure="absent")), live())
    assert gone_by_id.groups == ()


def test_a_protected_group_is_never_left_or_deleted() -> None:
    result = plan(
        desired(want("hq", "HQ", ensure="absent", protect=True)),
        live(have(G1, "HQ", {ME: "superadmin"})),
    )
    assert "protect: true, so it is never left or deleted" in refusal(result)


def test_leaving_as_the_only_admin_is_refused() -> None:
    result = plan(
        desired(want("old", "Old", ensure="absent")),
        live(have(G1, "Old", {ME: "superadmin", A: "member"})),
    )
    assert "the session is its only admin" in refusal(result)


# -- rules the planner never breaks --------------------------------------------------------------


def test_the_session_is_kept_even_though_the_config_does_not_list_it() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"})),
        live(have(G1, "Eng", {ME: "admin", C: "superadmin", A: "member"})),
    )
    assert "created the group and cannot be removed" in refusal(result)  # C, not the session
    result = plan(
        desired(want("eng", "Eng", {A: "member", C: "admin"})),
        live(have(G1, "Eng", {ME: "admin", C: "superadmin", A: "member"})),
    )
    assert result.groups == ()


def test_a_config_that_would_demote_the_session_is_refused() -> None:
    result = plan(
        desired(want("eng", "Eng", {ME: "member", A: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "member"})),
    )
    assert "groupctl never demotes itself" in refusal(result)


def test_the_creator_is_never_removed() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"}), names={C: "carol"}),
        live(have(G1, "Eng", {ME: "admin", C: "superadmin", A: "member"})),
    )
    assert "carol (+1 415-555-0103) created the group and cannot be removed" in refusal(result)


def test_the_creator_is_never_demoted() -> None:
    result = plan(
        desired(want("eng", "Eng", {C: "member"})),
        live(have(G1, "Eng", {ME: "admin", C: "superadmin"})),
    )
    assert "created the group and cannot be demoted" in refusal(result)


def test_a_group_where_the_session_is_not_admin_cannot_be_changed() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member", B: "member", C: "admin"})),
        live(have(G1, "Eng", {ME: "member", C: "superadmin", A: "member"})),
    )
    assert "not an admin of this group" in refusal(result)


def test_demoting_needs_the_session_to_be_the_creator() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member", C: "admin"})),
        live(have(G1, "Eng", {ME: "admin", C: "superadmin", A: "admin"})),
    )
    assert "only the group's creator can demote admins" in refusal(result)


# -- min_admins: admins besides the session -----------------------------------------------------


def test_a_plan_leaving_fewer_admins_than_min_admins_is_refused_naming_them() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "admin", B: "member"}, min_admins=2)),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "admin"})),
    )
    assert "it would leave 1 admin besides the session, fewer than its min_admins: 2" in (
        refusal(result)
    )


def test_people_an_apply_adds_do_not_count_as_admins_until_they_are_in() -> None:
    """B, promoted once added, may not be let in (privacy settings); C's removal would go
    ahead all the same: the plan is refused, saying to make the new admins first."""
    swap = plan(
        desired(want("eng", "Eng", {A: "admin", B: "admin"}, min_admins=2)),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", C: "admin"})),
    )
    assert "make them admins first, then let the others go" in refusal(swap)
    first = plan(  # the same, in two applies: B made admin while C stays
        desired(want("eng", "Eng", {A: "admin", B: "admin", C: "admin"}, min_admins=2)),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", C: "admin"})),
    )
    assert only_group(first) == [("add", p(B)), ("promote", p(B))]


def test_admins_promoted_and_kept_by_an_additive_group_count_the_session_not() -> None:
    kept = plan(  # B stays admin (additive), A is promoted: two
        desired(want("eng", "Eng", {A: "admin"}, members_policy="additive", min_admins=2)),
        live(have(G1, "Eng", {ME: "superadmin", A: "member", B: "admin"})),
    )
    assert only_group(kept) == [("promote", p(A))]
    assert kept.groups[0].notes == ()
    alone = plan(  # the session is an admin too, but not one of the two
        desired(want("eng", "Eng", {ME: "admin", A: "admin"}, min_admins=2)),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin"})),
    )
    assert [group.notes for group in alone.groups] == [
        (
            "it has 1 admin besides the session (those this plan promotes included), fewer"
            " than its min_admins: 2: list more people in admins:, so that the group is not"
            " lost with the session's number",
        )
    ]


def test_a_group_short_of_admins_that_loses_none_is_planned_with_a_note() -> None:
    """Refusing it would stop every plan (and watch would call it drift) until the config
    names more admins: the plan goes ahead, promoting whom it can, and says what is short."""
    result = plan(
        desired(want("eng", "Eng", {A: "admin", B: "admin", C: "member"}, min_admins=3)),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member", C: "member"})),
    )
    assert only_group(result) == [("promote", p(B))]
    assert "it has 2 admins besides the session" in result.groups[0].notes[0]


def test_a_new_group_counts_the_admins_it_will_promote() -> None:
    enough = plan(desired(want("eng", "Eng", {A: "admin", B: "admin"}, min_admins=2)), live())
    assert only_group(enough) == [("create", "Eng", p(A), p(B)), ("promote", p(A), p(B))]
    assert enough.groups[0].notes == ()
    short = plan(desired(want("eng", "Eng", {A: "admin", B: "member"}, min_admins=2)), live())
    assert only_group(short) == [("create", "Eng", p(A), p(B)), ("promote", p(A))]
    assert "fewer than its min_admins: 2" in short.groups[0].notes[0]


def test_refusals_of_one_group_leave_the_others_planned() -> None:
    result = plan(
        desired(want("a", "A", {A: "member"}), want("b", "B", {A: "member"})),
        live(
            have(G1, "A", {ME: "member", A: "admin"}),
            have(G2, "B", {ME: "superadmin", A: "member", B: "member"}),
        ),
    )
    assert [(g.key, bool(g.errors), len(g.actions)) for g in result.groups] == [
        ("a", True, 0),
        ("b", False, 1),
    ]


# -- pictures ------------------------------------------------------------------------------------

LOGO = LocalPicture(Path("logo.png"))


@pytest.mark.parametrize(
    ("live_picture", "known", "wanted", "expected"),
    [
        ("ff00ff00ff00ff00", True, "ff00ff00ff00ff00", []),
        ("ff00ff00ff00ff01", True, "ff00ff00ff00ff00", []),  # re-encoding: a bit or two
        ("00ff00ff00ff00ff", True, "ff00ff00ff00ff00", [("picture", "logo.png")]),
        (None, True, "ff00ff00ff00ff00", [("picture", "logo.png")]),
        (None, False, "ff00ff00ff00ff00", []),  # not read: nothing to decide on
    ],
    ids=["same", "same-after-re-encoding", "different", "none-yet", "not-read"],
)
def test_pictures_are_compared_by_fingerprint(
    live_picture: str | None, known: bool, wanted: str, expected: list[tuple[str, ...]]
) -> None:
    result = plan(
        desired(want("eng", "Eng", picture=LOGO)),
        live(
            have(G1, "Eng", {ME: "superadmin"}, picture=live_picture, picture_known=known),
            pictures={LOGO: wanted},
        ),
    )
    assert (steps(result.groups[0]) if result.groups else []) == expected


def test_a_picture_that_cannot_be_read_refuses_its_group() -> None:
    result = plan(
        desired(want("eng", "Eng", picture=LOGO)),
        live(
            have(G1, "Eng", {ME: "superadmin"}, picture_known=True),
            picture_problems={LOGO: "cannot read the picture: HTTP 404"},
        ),
    )
    assert refusal(result) == "cannot read the picture: HTTP 404"


# -- the plan as a whole -------------------------------------------------------------------------


def test_only_the_groups_asked_for_are_planned() -> None:
    result = plan(
        desired(want("a", "A", {A: "member"}), want("b", "B", {A: "member"})),
        live(),
        PlanPolicy(only=frozenset({"b"})),
    )
    assert [g.key for g in result.groups] == ["b"]


def test_the_summary_counts_what_the_plan_does() -> None:
    result = plan(
        desired(
            want("new", "New", {A: "admin", B: "member"}),
            want("eng", "Eng", {A: "admin", C: "member", E: "member"}, id=G1, description="d"),
            want("old", "Old", ensure="absent"),
        ),
        live(
            have(G1, "Eng", {ME: "superadmin", A: "member", C: "admin", D: "member"}),
            have(G2, "Old", {ME: "admin", A: "superadmin"}),
            others=3,
        ),
    )
    assert result.summary.sentence() == (
        "Plan: 1 to create, 1 to update, 1 to leave, 3 members to add, 1 to remove,"
        " 2 promotions, 1 demotion. 3 unmanaged."
    )
    assert result.is_destructive
    assert result.groups[0].members_before == 0


def test_a_plan_of_only_additions_is_not_destructive() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member", B: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "member"})),
    )
    assert (result.has_changes, result.is_destructive) == (True, False)
    assert {a.kind for g in result.groups for a in g.actions} == {Kind.ADD}


# -- one live group, one entry -------------------------------------------------------------------


def test_a_live_group_claimed_by_two_entries_is_refused_for_both() -> None:
    result = plan(
        desired(want("a", "Eng", {A: "member"}), want("b", "Eng", ensure="absent")),
        live(have(G1, "Eng", {ME: "superadmin", A: "member", B: "member"})),
    )
    assert [(g.key, bool(g.errors), len(g.actions)) for g in result.groups] == [
        ("a", True, 0),
        ("b", True, 0),
    ]
    assert "is also the group of 'b'" in result.groups[0].errors[0]


def test_leaving_a_group_whose_subject_another_entry_keeps_is_refused() -> None:
    result = plan(
        desired(
            want("hq", "HQ", {A: "member"}, protect=True),
            want("gone", "Old", id=G1, ensure="absent", absent_action="delete"),
        ),
        live(have(G1, "HQ", {ME: "superadmin", A: "member"})),
    )
    gone = next(g for g in result.groups if g.key == "gone")
    assert "which 'hq' keeps by name" in gone.errors[0]
    assert not gone.actions


def test_a_bound_group_whose_details_were_not_read_is_never_created_anew() -> None:
    state = live(have(G1, "Eng", {ME: "superadmin"}))
    state = replace(state, groups={})
    assert "were not read" in refusal(plan(desired(want("eng", "Eng", id=G1)), state))


# -- LIDs ----------------------------------------------------------------------------------------


def test_a_lid_that_is_someone_elses_number_in_the_group_is_a_config_mistake() -> None:
    result = plan(
        desired(want("eng", "Eng", {B: "admin"}, lids={B: "4455@lid"}), names={B: "bob"}),
        live(have(G1, "Eng", {ME: "superadmin", C: "member"}, lids={C: "4455@lid"})),
    )
    assert "bob (+1 415-555-0102) has the LID 4455@lid in the config, but in this group" in (
        refusal(result)
    )


def test_a_creator_shown_only_by_lid_is_kept_like_any_unresolved_participant() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"})),
        live(have(G1, "Eng", {ME: "admin", "777@lid": "superadmin", A: "member"})),
    )
    assert result.groups[0].actions == ()
    assert not result.groups[0].errors
    assert "777@lid is in the group but WhatsApp hides their number" in result.groups[0].notes[0]


def test_naming_the_session_by_its_lid_does_not_add_the_session() -> None:
    result = plan(
        desired(want("eng", "Eng", {ME_LID: "admin", A: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "member"})),
    )
    assert result.groups == ()


def test_nobody_is_removed_who_may_be_a_person_listed_by_lid_only() -> None:
    # The API gave B's number but not B's LID: B may well be the person listed as 4455@lid.
    result = plan(
        desired(want("eng", "Eng", {"4455@lid": "member"})),
        live(have(G1, "Eng", {ME: "superadmin", B: "member"})),
    )
    assert only_group(result) == [("add", "4455@lid")]
    assert (
        "may be someone the config lists whom WhatsApp shows here by" in (result.groups[0].notes[0])
    )


def test_a_lid_that_people_names_is_that_person_and_removed_when_not_listed() -> None:
    # A is to be added and WhatsApp may show A by a LID, but 4455@lid is kai's, not A's.
    result = plan(
        desired(want("eng", "Eng", {A: "member"}), names={"4455@lid": "kai"}),
        live(have(G1, "Eng", {ME: "superadmin", "4455@lid": "member"})),
    )
    assert only_group(result) == [("add", jid(A)), ("remove", "4455@lid")]
    assert result.groups[0].notes == ()


def test_a_person_known_only_by_lid_is_removed_like_anyone_not_listed() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "member"}), names={"4455@lid": "contractor"}),
        live(have(G1, "Eng", {ME: "superadmin", A: "member", "4455@lid": "member"})),
    )
    assert only_group(result) == [("remove", "4455@lid")]


# -- the addresses actions use ------------------------------------------------------------------


def test_live_members_are_acted_on_by_the_lid_the_group_shows_then_by_number() -> None:
    lids = {A: "4401@lid", B: "4402@lid", C: "4403@lid"}
    result = plan(
        desired(want("eng", "Eng", {A: "admin", B: "member", D: "member"}, id=G1)),
        live(have(G1, "Eng", {ME: "superadmin", A: "member", B: "admin", C: "member"}, lids=lids)),
    )
    addresses = {a.kind: a.addresses() for a in result.groups[0].actions}
    assert addresses == {
        Kind.ADD: {jid(D): (jid(D),)},  # not in the group: by number
        Kind.PROMOTE: {jid(A): (jid("4401@lid"), jid(A))},
        Kind.DEMOTE: {jid(B): (jid("4402@lid"), jid(B))},
        Kind.REMOVE: {jid(C): (jid("4403@lid"), jid(C))},
    }


def test_someone_not_in_the_group_is_added_by_number_and_known_by_the_lid_people_gives() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "admin"}, id=G1, lids={A: "4401@lid"})),
        live(have(G1, "Eng", {ME: "superadmin"})),
    )
    add, promote = result.groups[0].actions
    assert add.addresses() == promote.addresses() == {jid(A): (jid(A), jid("4401@lid"))}


def test_a_participant_shown_by_lid_alone_has_that_one_address() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "admin"}, id=G1, lids={A: "4401@lid"})),
        live(have(G1, "Eng", {ME: "superadmin", "4401@lid": "member"})),
    )
    (promote,) = result.groups[0].actions
    assert promote.via == ()
    assert promote.addresses() == {jid("4401@lid"): (jid("4401@lid"),)}


def test_a_plan_never_removes_someone_the_policy_keeps_whatever_the_config_lists() -> None:
    """The config check refuses an exact group that does not list them; the planner holds
    the line too, for a group built another way (a removal the config's lists cannot show)."""
    group = replace(want("eng", "Eng", {A: "admin"}), never_remove=frozenset({jid(B)}))
    result = plan(
        desired(group), live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member"}))
    )
    assert "may never be removed from this group (never_remove)" in refusal(result)


def test_a_group_is_not_deleted_with_someone_the_policy_keeps_in_it() -> None:
    group = replace(
        want("eng", "Eng", ensure="absent", absent_action="delete"),
        never_remove=frozenset({jid(B)}),
    )
    result = plan(desired(group), live(have(G1, "Eng", {ME: "superadmin", B: "member"})))
    assert "deleting it would remove" in refusal(result)
