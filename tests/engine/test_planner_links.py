"""The planner and invite_link: revoke after removals, rotate on schedule, never otherwise."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from reconciler.core.groups import LINK_SENT, Waiting
from reconciler.engine.plan import Action, GroupPlan, Kind, why_revoked
from reconciler.engine.planner import plan
from reconciler.engine.statefile import INVITED_WAIT
from reconciler.render.markdown import render as render_markdown
from reconciler.render.text import to_string as render_text
from tests.support.builders import ME, A, B, desired, have, jid, live, p, steps, want

G1 = "120363000000000001@g.us"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
MONTH = timedelta(days=30)


def only(group_plans: tuple[GroupPlan, ...]) -> GroupPlan:
    assert len(group_plans) == 1, group_plans
    assert not group_plans[0].errors, group_plans[0].errors
    return group_plans[0]


def revocation(group: GroupPlan) -> Action | None:
    return next((a for a in group.actions if a.kind == Kind.REVOKE_LINK), None)


def test_a_removal_is_followed_by_a_revocation_last_of_the_group() -> None:
    result = plan(
        desired(want("eng", "Eng", {A: "admin"}, revoke_on_removal=True)),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member"})),
    )
    assert steps(only(result.groups)) == [("remove", p(B)), ("revoke_link",)]
    assert result.summary.revoke_link == 1
    assert "1 invite link to revoke" in result.summary.sentence()


def test_no_removal_no_revocation_and_without_the_setting_none_either() -> None:
    unchanged = plan(
        desired(want("eng", "Eng", {A: "admin", B: "member"}, revoke_on_removal=True)),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member"})),
    )
    assert unchanged.groups == ()
    plain = plan(
        desired(want("eng", "Eng", {A: "admin"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin", B: "member"})),
    )
    assert steps(only(plain.groups)) == [("remove", p(B))]


def test_a_rotation_is_due_once_its_period_has_passed_since_the_link_was_made() -> None:
    config = desired(want("eng", "Eng", {A: "admin"}, rotate_links_every=MONTH))
    world = live(have(G1, "Eng", {ME: "superadmin", A: "admin"}))
    made = {jid(G1): NOW - MONTH + timedelta(seconds=1)}
    assert plan(config, world, links_made=made, now=NOW).groups == ()
    due = plan(config, world, links_made=made, now=NOW + timedelta(seconds=1))
    action = revocation(only(due.groups))
    assert action is not None
    assert action.new == "rotation"
    assert why_revoked(action) == "its rotate_every is due (made 2026-11-01)"


def test_a_group_with_no_record_of_its_link_is_due_and_no_clock_means_no_rotation() -> None:
    config = desired(want("eng", "Eng", {A: "admin"}, rotate_links_every=MONTH))
    world = live(have(G1, "Eng", {ME: "superadmin", A: "admin"}))
    action = revocation(only(plan(config, world, now=NOW).groups))
    assert action is not None
    assert action.old is None
    assert "no record of when it was made" in why_revoked(action)
    assert plan(config, world).groups == ()


def test_a_new_group_is_not_revoked_and_a_rotation_the_session_cannot_make_is_a_note() -> None:
    created = plan(
        desired(want("eng", "Eng", {A: "admin"}, rotate_links_every=MONTH)), live(), now=NOW
    )
    assert revocation(only(created.groups)) is None
    not_admin = plan(
        desired(want("eng", "Eng", {A: "admin"}, rotate_links_every=MONTH)),
        live(have(G1, "Eng", {ME: "member", A: "superadmin"})),
        now=NOW,
    )
    (group,) = not_admin.groups
    assert (group.actions, group.errors) == ((), ())
    assert "due for rotation" in group.notes[0]
    assert "not an admin" in group.notes[0]


def test_a_revocation_survives_the_plan_file_and_a_forged_reason_does_not() -> None:
    action = Action(Kind.REVOKE_LINK, old=NOW.isoformat(), new="rotation")
    assert Action.from_json(action.to_json()) == action
    for forged in ({"kind": "revoke_link", "new": "because"}, {"kind": "revoke_link"}):
        with pytest.raises(ValueError, match="not a reason to revoke"):
            Action.from_json(forged)


def test_a_link_made_in_the_far_future_by_a_hand_edited_state_file_is_simply_not_due() -> None:
    config = desired(want("eng", "Eng", {A: "admin"}, rotate_links_every=MONTH))
    world = live(have(G1, "Eng", {ME: "superadmin", A: "admin"}))
    far = {jid(G1): datetime(9999, 12, 31, tzinfo=UTC)}
    assert plan(config, world, links_made=far, now=NOW).groups == ()


def test_an_owed_revocation_is_planned_until_made_and_people_waiting_get_the_new_link() -> None:
    config = desired(want("eng", "Eng", {A: "admin", B: "member"}, revoke_on_removal=True))
    world = live(have(G1, "Eng", {ME: "superadmin", A: "admin"}))
    since = NOW - timedelta(days=1)
    waiting = {jid(G1): {jid(B): Waiting(LINK_SENT, since, since + INVITED_WAIT)}}
    result = plan(config, world, waiting=waiting, links_owed=frozenset({jid(G1)}), now=NOW)
    action = revocation(only(result.groups))
    assert action is not None
    assert (action.new, action.members) == ("owed", (jid(B),))
    assert "did not get to revoke it" in why_revoked(action)


def test_the_people_given_the_new_link_show_in_text_and_markdown_escaped() -> None:
    config = desired(want("eng", "Eng", {A: "admin", B: "member"}, revoke_on_removal=True))
    world = live(have(G1, "Eng", {ME: "superadmin", A: "admin"}))
    since = NOW - timedelta(days=1)
    waiting = {jid(G1): {jid(B): Waiting(LINK_SENT, since, since + INVITED_WAIT)}}
    result = plan(config, world, waiting=waiting, links_owed=frozenset({jid(G1)}), now=NOW)
    result = replace(result, directory={jid(B): "bob\u202e`x`"})
    text = render_text(result)
    assert "    > new link     bob\\u202e`x` (+1 415-555-0102)" in text
    markdown = "\n".join(render_markdown(result))
    assert "\u202e" not in markdown
    assert "the new link goes to bob" in markdown


def test_a_plan_file_whose_group_is_acted_on_before_it_is_created_is_refused() -> None:
    created = plan(desired(want("eng", "Eng", {A: "admin"})), live())
    data = created.groups[0].to_json()
    data["actions"] = [a for a in data["actions"] if a["kind"] != "create"]
    with pytest.raises(ValueError, match="created first"):
        GroupPlan.from_json(data)
    existing = plan(
        desired(want("eng", "Eng", {A: "admin", B: "member"})),
        live(have(G1, "Eng", {ME: "superadmin", A: "admin"})),
    )
    data = existing.groups[0].to_json()
    data["actions"] = [{"kind": "create", "new": "Eng"}, *data["actions"]]
    with pytest.raises(ValueError, match="only a group with no id"):
        GroupPlan.from_json(data)
    assert GroupPlan.from_json(existing.groups[0].to_json()).actions == existing.groups[0].actions
