"""Teams within teams, resolved at a cost the config's size and one budget bound.

A team may list other teams, so a config draws a graph of teams, and what a group stands for
is the union of its teams' members. A config from a pull request is untrusted, so its cost
must not grow faster than its size:

- `team_order` puts the teams in an order where each comes after the teams it lists, by a
  depth-first walk with its own stack (a chain of 100,000 teams is a list here, not 100,000
  Python frames), and finds the references that close a cycle. Each team is then expanded
  once, from the teams before it, and remembered.
- Even so, the members a chain of teams stands for can grow with the square of its length
  (each team of the chain holds the one before and one person more). Every expansion is paid
  for from one `Budget` for the whole config: a team of 1,000 members listed by another team
  costs 1,000 there, and again in every group that lists either. The config that would spend
  more is refused, at the place where the budget ran out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

TEAM_PREFIX = "team:"
# The memberships every team and group of one config may stand for, counted once per list
# that names them. 2,000 groups of 1,024 members (what the planner is measured at) spend
# some 2,000,000 when each lists its people or one team; the rest leaves room for the teams
# themselves. A config that reaches it costs well under a second and 300 MB to refuse.
MAX_EXPANDED_MEMBERSHIPS = 3_000_000
_SHOWN_IN_A_CYCLE = 8  # a cycle through thousands of teams is named by its ends


@dataclass
class Budget:
    """Memberships a config may still expand to; see MAX_EXPANDED_MEMBERSHIPS."""

    limit: int = MAX_EXPANDED_MEMBERSHIPS
    spent: int = 0
    exhausted: bool = field(default=False, init=False)

    def fits(self, count: int) -> bool:
        """Whether `count` more memberships fit, spending nothing."""
        return not self.exhausted and self.spent + count <= self.limit

    def spend(self, count: int) -> bool:
        """Whether `count` more memberships fit; they are spent if so. The first that does
        not fit exhausts the budget: the config is refused, and nothing more is spent on it."""
        if self.fits(count):
            self.spent += count
            return True
        self.exhausted = True
        return False

    def refusal(self, owner: str, item: str) -> str:
        """The problem of `item`, the item of `owner`'s list ("team 'eng'", "group 'all'")
        that the budget could not pay for."""
        return (
            f"{owner} takes the config past {self.limit:,} memberships in all at {item!r}:"
            " each team and group counts every member it stands for, teams within teams"
            " included; nest fewer teams, or list people directly"
        )


def listed_team(text: str) -> str | None:
    """The team a list item names (`team:<name>`), or None for a person."""
    return text.removeprefix(TEAM_PREFIX) if text.startswith(TEAM_PREFIX) else None


@dataclass(frozen=True)
class Cycle:
    """Item `index` of team `team` names a team that, through others, lists `team` itself."""

    team: str
    index: int
    shown: str  # the cycle, from the team named back to it: "a -> b -> a"


def _cycle(team: str, index: int, path: Sequence[str], start: int) -> Cycle:
    """The cycle that item `index` of `team` (the end of `path`) closes at `path[start]`,
    named by its ends when long: built in constant time, since a hostile config may close a
    long cycle at every item."""
    length = len(path) - start + 1
    if length <= _SHOWN_IN_A_CYCLE:
        names = [*path[start:], path[start]]
    else:
        skipped = f"({length - 7:,} more)"
        names = [*path[start : start + 4], skipped, *path[-2:], path[start]]
    return Cycle(team, index, " -> ".join(names))


def _names_no_team(items: Sequence[str]) -> bool:
    """Whether no item of a list can name a team, checked at once in C (a text that merely
    holds "team:" is then looked at item by item)."""
    return TEAM_PREFIX not in "".join(items)


def _teams_listed(
    items: Sequence[str], teams: Mapping[str, Sequence[str]]
) -> Iterator[tuple[int, str]]:
    """The items of a list that name a team of `teams`, with their index: most name people."""
    return (
        (index, text[len(TEAM_PREFIX) :])
        for index, text in enumerate(items)
        if text.startswith(TEAM_PREFIX) and text[len(TEAM_PREFIX) :] in teams
    )


def team_order(teams: Mapping[str, Sequence[str]]) -> tuple[list[str], list[Cycle]]:
    """Every team of `teams` (name -> its list) after the teams of `teams` it lists (others
    are unknown: the resolver reports them), and the items that close a cycle (they stand for
    nobody). Teams are walked in the config's order and each list in its order, as they were
    when this walk was recursive. Linear in the number of teams and list items."""
    order: list[str] = []
    cycles: list[Cycle] = []
    depth: dict[str, int] = {}  # the teams on the walk's current path -> their place on it
    done: set[str] = set()
    for root in teams:
        if root in done:
            continue
        listed = teams[root]
        # Most teams name only people, or teams already in the order (a config lists teams
        # after those they name): in order at once, without the walk. (A team of one item,
        # often a team alone, is looked at directly.)
        if len(listed) == 1:
            only = listed[0]
            if not only.startswith(TEAM_PREFIX) or (
                only[len(TEAM_PREFIX) :] in done or only[len(TEAM_PREFIX) :] not in teams
            ):
                done.add(root)
                order.append(root)
                continue
        elif _names_no_team(listed) or all(
            text[len(TEAM_PREFIX) :] in done or text[len(TEAM_PREFIX) :] not in teams
            for text in listed
            if text.startswith(TEAM_PREFIX)
        ):
            done.add(root)
            order.append(root)
            continue
        path = [root]
        depth[root] = 0
        stack = [(root, _teams_listed(teams[root], teams))]
        while stack:
            name, items = stack[-1]
            for index, child in items:
                if child in done:
                    continue
                if child in depth:
                    cycles.append(_cycle(name, index, path, depth[child]))
                    continue
                if _names_no_team(teams[child]):
                    done.add(child)
                    order.append(child)
                    continue
                depth[child] = len(path)
                path.append(child)
                stack.append((child, _teams_listed(teams[child], teams)))
                break
            else:  # every item of `name` seen: the teams it lists are all in the order
                stack.pop()
                path.pop()
                del depth[name]
                done.add(name)
                order.append(name)
    return order, cycles
