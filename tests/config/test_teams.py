"""Teams within teams: each team after the teams it lists, found without recursion, cycles
named at the item that closes them (briefly when long), and a budget spent once."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reconciler.config.teams import Budget, team_order


def test_each_team_comes_after_the_teams_it_lists() -> None:
    teams = {
        "all": ["team:eng", "team:ops", "zoe"],
        "eng": ["team:backend", "alice"],
        "ops": ["team:backend"],
        "backend": ["bob"],
    }
    order, cycles = team_order(teams)
    assert order == ["backend", "eng", "ops", "all"]
    assert cycles == []


def test_unknown_teams_are_left_to_the_resolver_to_report() -> None:
    order, cycles = team_order({"a": ["team:nope", "nope"]})
    assert order == ["a"]
    assert cycles == []


def test_a_cycle_is_named_at_the_item_that_closes_it() -> None:
    teams = {
        "backend": ["team:platform"],
        "platform": ["team:infra"],
        "infra": ["x", "team:backend"],
    }
    order, cycles = team_order(teams)
    assert sorted(order) == sorted(teams)
    assert [(c.team, c.index, c.shown) for c in cycles] == [
        ("infra", 1, "backend -> platform -> infra -> backend")
    ]


def test_a_team_listing_itself_is_a_cycle() -> None:
    _, cycles = team_order({"me": ["team:me"]})
    assert [c.shown for c in cycles] == ["me -> me"]


def test_a_chain_far_longer_than_pythons_stack_is_ordered() -> None:
    n = 200_000  # each team lists the next: a recursive walk would need n frames
    teams = {f"t{k}": [f"team:t{k + 1}"] for k in range(n - 1)} | {f"t{n - 1}": ["p"]}
    order, cycles = team_order(teams)
    assert order[:2] == [f"t{n - 1}", f"t{n - 2}"]
    assert len(order) == n
    assert cycles == []


def test_long_cycles_are_named_by_their_ends_so_messages_stay_short() -> None:
    """A cycle through every team of a long chain, closed at every team: each message is
    built in constant time and stays one line."""
    n = 50_000
    teams = {f"t{k}": [f"team:t{k + 1}", "team:t0"] for k in range(n - 1)}
    teams[f"t{n - 1}"] = ["team:t0"]
    _, cycles = team_order(teams)
    assert len(cycles) == n  # one per "team:t0", t0's own included
    longest = max(cycles, key=lambda cycle: len(cycle.shown))
    assert longest.shown == f"t0 -> t1 -> t2 -> t3 -> (49,994 more) -> t{n - 2} -> t{n - 1} -> t0"
    assert all(len(cycle.shown) < 120 for cycle in cycles)


def test_a_budget_refuses_what_does_not_fit_and_everything_after() -> None:
    budget = Budget(limit=10)
    assert budget.spend(6)
    assert not budget.spend(5)
    assert budget.exhausted
    assert not budget.spend(1)  # it would fit, but the config is refused already
    assert budget.spent == 6


def recursive_order(teams: dict[str, list[str]]) -> tuple[list[str], list[tuple[str, int]]]:
    """The order and the cycle-closing items as the walk's recursive definition finds them."""
    order: list[str] = []
    cycles: list[tuple[str, int]] = []
    path: list[str] = []
    done: set[str] = set()

    def visit(name: str) -> None:
        path.append(name)
        for index, text in enumerate(teams[name]):
            child = text.removeprefix("team:")
            if child == text or child not in teams or child in done:
                continue
            if child in path:
                cycles.append((name, index))
            else:
                visit(child)
        path.pop()
        done.add(name)
        order.append(name)

    for root in teams:
        if root not in done:
            visit(root)
    return order, cycles


names = st.sampled_from("abcdef")
items = names.map(lambda name: f"team:{name}") | st.sampled_from(["p", "q", "xteam:a", "team:"])


@given(st.dictionaries(names, st.lists(items, max_size=4), max_size=6))
def test_the_walk_finds_what_its_recursive_definition_finds(teams: dict[str, list[str]]) -> None:
    order, cycles = team_order(teams)
    assert (order, [(cycle.team, cycle.index) for cycle in cycles]) == recursive_order(teams)
