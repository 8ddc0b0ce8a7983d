"""Safety brakes: mass removals, demotions, leaves, deletes, adds and creates are refused
unless forced; the group's own limits replace the percentage and cap their own group, and
never raise the run's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.engine import planfile
from reconciler.engine.plan import Plan
from reconciler.engine.planner import plan
from reconciler.engine.safety import Brakes, assess, check, raise_if_unsafe
from reconciler.errors import UnsafePlanError
from tests.support.builders import ME, desired, have, live, want

G1, G2 = "120363000000000001@g.us", "120363000000000002@g.us"
ALL_ROOM = Brakes(
    max_removals=10_000,
    max_demotions=10_000,
    max_leaves=10_000,
    max_deletes=10_000,
    max_adds=10_000,
    max_creates=10_000,
)


def crowd(size: int, start: int = 0) -> dict[str, str]:
    return {f"+1212555{n:04d}": "member" for n in range(start, start + size)}


def removing(kept: int, size: int, **policy: Any) -> Plan:
    everyone = crowd(size)
    config = desired(want("g", "G", dict(list(everyone.items())[:kept]), **policy))
    return plan(config, live(have(G1, "G", {ME: "superadmin", **everyone})))


def test_a_plan_within_the_brakes_passes() -> None:
    assert check(removing(kept=9, size=10)) == []  # 1 of 11 members: 9%


def test_more_than_a_quarter_of_a_group_of_eight_or_more_is_refused() -> None:
    assert check(removing(kept=7, size=10)) == [
        "'G' [g]: it removes 3 of 11 members (27%), more than 25%"
    ]


def test_small_groups_have_no_percentage_brake() -> None:
    assert check(removing(kept=2, size=6)) == []  # 4 of 7, but under 8 members


def test_more_than_max_removals_in_all_is_refused() -> None:
    everyone = crowd(30)
    result = plan(
        desired(want("a", "A", {}), want("b", "B", {})),
        live(
            have(G1, "A", {ME: "superadmin", **dict(list(everyone.items())[:15])}),
            have(G2, "B", {ME: "superadmin", **dict(list(everyone.items())[15:])}),
        ),
    )
    reasons = check(result, Brakes(max_removals=20, group_percent=100))
    assert reasons == ["it removes 30 members in all, more than --max-removals 20"]


def test_a_groups_own_limits_override_the_defaults() -> None:
    assert check(removing(kept=5, size=10, max_removal_percent=60)) == []
    assert check(removing(kept=9, size=10, max_removals=0)) == [
        "'G' [g]: it removes 1 member, more than the group's limits: max_removals: 0"
    ]


def test_an_unsafe_plan_is_refused_with_how_to_proceed_and_force_lifts_it() -> None:
    result = removing(kept=2, size=10)
    with pytest.raises(UnsafePlanError) as refused:
        raise_if_unsafe(result)
    assert "removes 8 of 11 members (73%)" in str(refused.value)
    assert "run again with --force" in str(refused.value)
    raise_if_unsafe(result, force=True)


def test_a_groups_own_max_removals_replaces_the_percentage() -> None:
    assert check(removing(kept=2, size=10, max_removals=8)) == []  # 8 of 11: 73%, allowed


def test_deleting_a_big_group_counts_as_removing_everyone_in_it() -> None:
    everyone = crowd(30)
    result = plan(
        desired(want("g", "G", ensure="absent", absent_action="delete")),
        live(have(G1, "G", {ME: "superadmin", **everyone})),
    )
    assert check(result) == [
        "it removes 30 members in all, more than --max-removals 20",
        "'G' [g]: it removes 30 of 31 members (97%), more than 25%",
    ]


def test_the_group_size_comes_from_the_snapshot_not_a_number_anyone_can_edit() -> None:
    result = removing(kept=2, size=10)
    tampered = replace(result, groups=tuple(replace(g, members_before=0) for g in result.groups))
    assert check(tampered) == check(result) != []


def gid(n: int) -> str:
    return f"1203630000000{n:05d}@g.us"


def demoting(admins: int, groups: int = 1, **policy: Any) -> Plan:
    """Each of `groups` groups has `admins` admins the config keeps as plain members."""
    wanted, found = [], []
    for g in range(groups):
        people = {f"+1212555{g:02d}{n:02d}": "member" for n in range(admins)}
        wanted.append(want(f"g{g}", f"G{g}", people, **policy))
        found.append(have(gid(g), f"G{g}", {ME: "superadmin", **dict.fromkeys(people, "admin")}))
    return plan(desired(*wanted), live(*found))


def absent(groups: int, action: str) -> Plan:
    """`groups` small groups the config says to leave or delete."""
    wanted = [want(f"g{g}", f"G{g}", ensure="absent", absent_action=action) for g in range(groups)]
    found = [have(gid(g), f"G{g}", {ME: "superadmin"}) for g in range(groups)]
    return plan(desired(*wanted), live(*found))


def adding(people: int, groups: int = 1, **policy: Any) -> Plan:
    """`people` new members in each of `groups` groups that exist."""
    wanted = [want(f"g{g}", f"G{g}", crowd(people, start=100 * g), **policy) for g in range(groups)]
    found = [have(gid(g), f"G{g}", {ME: "superadmin"}) for g in range(groups)]
    return plan(desired(*wanted), live(*found))


def creating(groups: int, people: int = 0) -> Plan:
    """`groups` new groups of `people` members each."""
    wanted = [want(f"g{g}", f"G{g}", crowd(people, start=100 * g)) for g in range(groups)]
    return plan(desired(*wanted), live())


@pytest.mark.parametrize(
    ("made", "brakes", "reason"),
    [
        (
            demoting(6, groups=2),
            Brakes(),
            "it demotes 12 admins in all, more than --max-demotions 10",
        ),
        (
            demoting(2),
            Brakes(max_demotions=1),
            "it demotes 2 admins in all, more than --max-demotions 1",
        ),
        (absent(4, "leave"), Brakes(), "it leaves 4 groups in all, more than --max-leaves 3"),
        (absent(2, "delete"), Brakes(), "it deletes 2 groups in all, more than --max-deletes 1"),
        (adding(60, groups=2), Brakes(), "it adds 120 members in all, more than --max-adds 100"),
        (creating(11), Brakes(), "it creates 11 groups in all, more than --max-creates 10"),
        # The people a new group is created with are added too.
        (creating(2, people=60), Brakes(), "it adds 120 members in all, more than --max-adds 100"),
    ],
    ids=["demotions", "demotions-flag", "leaves", "deletes", "adds", "creates", "creates-add"],
)
def test_each_run_limit_stops_a_plan_past_it(made: Plan, brakes: Brakes, reason: str) -> None:
    assert check(made, brakes) == [reason]


@pytest.mark.parametrize(
    "made",
    [
        demoting(5, groups=2),
        absent(3, "leave"),
        absent(1, "delete"),
        adding(50, groups=2),
        creating(10, people=10),
    ],
    ids=["demotions", "leaves", "deletes", "adds", "creates"],
)
def test_a_plan_at_each_default_limit_passes(made: Plan) -> None:
    assert check(made) == []


def test_a_groups_own_limits_cap_its_demotions_and_adds() -> None:
    assert check(demoting(3, max_demotions=2)) == [
        "'G0' [g0]: it demotes 3 admins, more than the group's limits: max_demotions: 2"
    ]
    assert check(adding(5, max_adds=4)) == [
        "'G0' [g0]: it adds 5 members, more than the group's limits: max_adds: 4"
    ]
    assert check(demoting(3, max_demotions=3)) == check(adding(5, max_adds=5)) == []


def test_a_groups_own_limits_never_raise_the_runs() -> None:
    """A pull request cannot lift its own brakes: the run's limits come from the flags."""
    generous = {"max_adds": 1000, "max_demotions": 1000, "max_removals": 1000}
    assert check(adding(150, **generous)) == [
        "it adds 150 members in all, more than --max-adds 100"
    ]
    assert check(demoting(11, **generous)) == [
        "it demotes 11 admins in all, more than --max-demotions 10"
    ]


def test_force_lifts_every_brake_and_the_verdict_says_so() -> None:
    everything = replace(
        adding(101),
        groups=(*adding(101).groups, *absent(4, "leave").groups, *creating(11).groups),
    )
    assert len(check(everything)) == 3
    with pytest.raises(UnsafePlanError, match="run again with --force"):
        raise_if_unsafe(everything)
    raise_if_unsafe(everything, force=True)
    assert check(everything, ALL_ROOM) == []
    forced = assess(everything, force=True)
    assert len(forced.brakes) == 3
    assert forced.forced
    assert not forced.stopped_by_brakes


def test_a_saved_plan_keeps_the_groups_own_limits() -> None:
    """apply of a plan file checks the brakes afresh: with the limits the plan was made with."""
    made = demoting(3, max_demotions=2)
    made = replace(made, groups=tuple(replace(g, max_adds=7) for g in made.groups))
    again = planfile.loads(planfile.dumps(made, key="k"), source="p.json", key="k")
    assert (again.groups[0].max_demotions, again.groups[0].max_adds) == (2, 7)
    assert check(again) == check(made) != []
