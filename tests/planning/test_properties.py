"""Properties of the planner over random groups: carrying a plan out (on a model of WhatsApp)
breaks no rule, and planning again afterwards finds nothing to do."""

from __future__ import annotations

from hypothesis import event, given
from hypothesis import strategies as st

from reconciler.jid import Jid
from reconciler.plan import GroupPlan, Kind
from reconciler.planner import PlanPolicy, plan
from reconciler.state import GroupState, LiveGroup, Member, standing
from tests.planning.builders import ME, desired, jid, live, want

PEOPLE = [f"+1415555{n:04d}" for n in range(1, 12)]
HIDDEN = ["700001@lid", "700002@lid"]
GROUP = "120363000000000001@g.us"
roles = st.sampled_from(["member", "admin"])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[object, object, PlanPolicy]:
    wanted = draw(st.dictionaries(st.sampled_from(PEOPLE), roles, max_size=8))
    policy = draw(st.sampled_from(["exact", "additive"]))
    subject = draw(st.sampled_from(["Eng", "Engineering"]))
    present = draw(st.booleans())
    me_role = draw(st.sampled_from(["superadmin", "admin", "member"]))
    creator = draw(st.sampled_from([None, *PEOPLE[:3]])) if me_role != "superadmin" else None
    now = draw(st.dictionaries(st.sampled_from(PEOPLE + HIDDEN), roles, max_size=8))
    now[ME] = me_role
    if creator is not None:
        now[creator] = "superadmin"
    groups = [have_group(subject if present else "Other", now)]
    config = desired(
        want(
            "g",
            "Eng",
            wanted,
            id=GROUP if present else None,
            description=draw(st.sampled_from([None, "", "Text"])),
            members_policy=policy,
        )
    )
    unresolved = draw(st.booleans())
    return config, live(*groups), PlanPolicy(remove_unresolved=unresolved)


def have_group(subject: str, roles: dict[str, str]) -> LiveGroup:
    members = {
        jid(person): standing(admin=role != "member", super_admin=role == "superadmin")
        for person, role in roles.items()
    }
    return LiveGroup(jid(GROUP), GroupState(subject, "", None, members))


def carry_out(group: GroupPlan, before: LiveGroup | None) -> LiveGroup | None:
    """What WhatsApp would hold after the actions (assuming every call succeeds)."""
    state = before.state if before else GroupState("", "", None, {})
    subject, description = state.subject, state.description
    members: dict[Jid, Member] = dict(state.members)
    for action in group.actions:
        if action.kind == Kind.CREATE:
            subject = action.new or ""
            members = {jid(ME): standing(super_admin=True)}
            members |= {who: standing() for who in action.members}
        elif action.kind == Kind.SUBJECT:
            subject = action.new or ""
        elif action.kind == Kind.DESCRIPTION:
            description = action.new
        elif action.kind == Kind.ADD:
            members |= {who: standing() for who in action.members if who not in members}
        elif action.kind in (Kind.PROMOTE, Kind.DEMOTE):
            for who in action.members:
                members[who] = standing(admin=action.kind == Kind.PROMOTE)
        elif action.kind == Kind.REMOVE:
            for who in action.members:
                del members[who]
        else:
            return None
    return LiveGroup(jid(GROUP), GroupState(subject, description, None, members))


@given(scenarios())
def test_a_plan_breaks_no_rule_and_converges(scenario: tuple[object, object, PlanPolicy]) -> None:
    config, state, policy = scenario
    result = plan(config, state, policy)  # type: ignore[arg-type]
    event(
        "refused"
        if result.groups and result.groups[0].errors
        else "nothing to do"
        if not result.groups
        else "planned"
    )
    if not result.groups or result.groups[0].errors:
        return
    group = result.groups[0]
    before = state.groups.get(group.group_id) if group.group_id else None  # type: ignore[attr-defined]
    after = carry_out(group, before)
    if after is None:
        return  # left the group
    members = after.state.members
    me = members.get(jid(ME))
    assert me is not None, "the session never leaves by removal"
    if before is not None:
        was = before.state.members[jid(ME)]
        assert me.admin >= was.admin, "the session is never demoted"
        for who, standing_before in before.state.members.items():
            if standing_before.super_admin:
                assert members.get(who) == standing_before, "the creator is never touched"
    assert any(m.admin for m in members.values()), "a group always keeps an admin"
    # Planning again against the result finds nothing more to do.
    again = plan(config, live(after), policy)  # type: ignore[arg-type]
    assert [a for g in again.groups for a in g.actions] == []
