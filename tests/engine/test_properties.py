"""Properties of the planner over random groups: carrying a plan out (on a model of WhatsApp)
breaks no rule, and planning again afterwards finds nothing to do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import event, given
from hypothesis import strategies as st

from reconciler.core.groups import HIDDEN, GroupState, LiveGroup, Member, Waiting, standing
from reconciler.core.jid import Jid
from reconciler.engine.plan import GroupPlan, Kind
from reconciler.engine.planner import PlanPolicy, plan
from tests.support.builders import ME, desired, jid, live, want

NOW = datetime(2026, 1, 1, tzinfo=UTC)

PEOPLE = [f"+1415555{n:04d}" for n in range(1, 12)]
LIDS = {person: f"7000{n:02d}@lid" for n, person in enumerate(PEOPLE)}  # everyone has one
STRANGERS = ["700001@lid", "700002@lid"]  # by LID alone, unknown to the config
GROUP = "120363000000000001@g.us"
roles = st.sampled_from(["member", "admin"])


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[object, object, PlanPolicy]:
    wanted = draw(st.dictionaries(st.sampled_from(PEOPLE), roles, max_size=8))
    # Some people are known to the config by their LID too, some by it alone.
    known_lids = {p: LIDS[p] for p in wanted if draw(st.booleans())}
    by_lid_only = {LIDS[p]: wanted.pop(p) for p in list(known_lids) if draw(st.booleans())}
    wanted.update(by_lid_only)
    policy = draw(st.sampled_from(["exact", "additive"]))
    subject = draw(st.sampled_from(["Eng", "Engineering"]))
    present = draw(st.booleans())
    me_role = draw(st.sampled_from(["superadmin", "admin", "member"]))
    creator = draw(st.sampled_from([None, *PEOPLE[:3]])) if me_role != "superadmin" else None
    now = draw(st.dictionaries(st.sampled_from(PEOPLE + STRANGERS), roles, max_size=8))
    # WhatsApp shows some participants by LID only (hidden numbers), others with both.
    shown = {}
    for person, role in now.items():
        if person in LIDS and draw(st.booleans()):
            shown[LIDS[person]] = role
        else:
            shown[person] = role
    now = shown
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
    members = {  # as Titan shows them: a number with its LID, or a LID alone
        jid(person): standing(
            admin=role != "member",
            super_admin=role == "superadmin",
            lid=jid(LIDS[person]) if person in LIDS else None,
        )
        for person, role in roles.items()
    }
    return LiveGroup(jid(GROUP), GroupState(subject, "", None, members))


def addresses(who: Jid) -> list[Jid]:
    """The other addresses of the same person: their LID, or their number."""
    if who.is_phone:
        return [jid(LIDS[who.e164])] if who.e164 in LIDS else []
    return [jid(phone) for phone, lid in LIDS.items() if lid == who]


def carry_out(
    group: GroupPlan, before: LiveGroup | None, already: set[Jid] | None = None
) -> LiveGroup | None:
    """What WhatsApp would hold after the actions (assuming every call succeeds). People an
    add finds already there (under their other address) go into `already`, as apply records
    them (see reconciler.engine.statefile)."""
    state = before.state if before else GroupState("", "", None, {})
    subject, description = state.subject, state.description
    members: dict[Jid, Member] = dict(state.members)
    for action in group.actions:
        if action.kind == Kind.CREATE:
            subject = action.new or ""
            members = {jid(ME): standing(super_admin=True)}
            members |= {
                who: standing(lid=jid(LIDS[who.e164]) if who.e164 in LIDS else None)
                for who in action.members
                if who.is_phone
            } | {who: standing() for who in action.members if who.is_lid}
        elif action.kind == Kind.SUBJECT:
            subject = action.new or ""
        elif action.kind == Kind.DESCRIPTION:
            description = action.new
        elif action.kind == Kind.ADD:
            present: set[str] = set(members) | {m.lid for m in members.values() if m.lid}
            owner = {jid(lid): jid(phone) for phone, lid in LIDS.items()}
            for who in action.members:  # WhatsApp knows a person by number and LID alike
                if (
                    who in present
                    or owner.get(who) in present
                    or (who.is_phone and LIDS.get(who.e164) in present)
                ):
                    if already is not None:
                        already.add(who)
                    continue
                lid = LIDS.get(who.e164) if who.is_phone else None
                members[who] = standing(lid=jid(lid) if lid else None)  # as Titan shows them
        elif action.kind in (Kind.PROMOTE, Kind.DEMOTE):
            for who in action.members:
                key = next((k for k in (who, *addresses(who)) if k in members), None)
                if key is not None:  # the same person under another address is still them
                    members[key] = standing(admin=action.kind == Kind.PROMOTE, lid=members[key].lid)
        elif action.kind == Kind.REMOVE:
            for who in action.members:
                del members[who]
        else:
            return None
    return LiveGroup(jid(GROUP), GroupState(subject, description, None, members))


def check_rules(before: LiveGroup | None, after: LiveGroup) -> None:
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


@given(scenarios())
def test_a_plan_breaks_no_rule_and_converges(scenario: tuple[object, object, PlanPolicy]) -> None:
    """Each round of plan and apply breaks no rule, and the plan settles: in one round, or
    in two where a participant is kept until the first round shows who they are not."""
    config, state, policy = scenario
    first = plan(config, state, policy)  # type: ignore[arg-type]
    event(
        "refused"
        if first.groups and first.groups[0].errors
        else "nothing to do"
        if not first.groups
        else "planned"
    )
    current: LiveGroup | None = state.groups.get(jid(GROUP))  # type: ignore[attr-defined]
    waiting: dict[Jid, Waiting] = {}
    result, rounds = first, 0
    while [a for g in result.groups for a in g.actions]:
        rounds += 1
        assert rounds <= 2, f"still changing after {rounds} rounds: {result.groups}"
        group = result.groups[0]
        before = current if group.group_id is not None else None
        already: set[Jid] = set()
        after = carry_out(group, before, already)
        if after is None:
            return  # left the group
        check_rules(before, after)
        waiting |= {person: Waiting(HIDDEN, NOW, NOW + timedelta(days=7)) for person in already}
        current = after
        result = plan(config, live(after), policy, {after.id: waiting})  # type: ignore[arg-type]
    event(f"settled in {rounds} rounds")
