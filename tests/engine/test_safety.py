"""Safety brakes: mass removals are refused unless forced; the group's own limits win."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reconciler.engine.plan import Plan
from reconciler.engine.planner import plan
from reconciler.engine.safety import Brakes, check, raise_if_unsafe
from reconciler.errors import UnsafePlanError
from tests.support.builders import ME, desired, have, live, want

G1, G2 = "120363000000000001@g.us", "120363000000000002@g.us"


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
        "'G' [g]: it removes 1 members, more than the group's limits: max_removals: 0"
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
