"""The world's views agree with its rules."""

from __future__ import annotations

from reconciler.sim.world import World
from tests.support.harness import standard_world


def test_the_participant_view_shows_numbers_exactly_as_phone_visible_says() -> None:
    world = World(standard_world())
    answers = set()
    for account in world.state.accounts:
        for group in world.state.groups:
            seen = [
                (person.phone, role, shown)
                for person, role, shown in world.participants_seen_by(account, group)
            ]
            expected = [
                (phone, role, world.phone_visible(account, group, world.person(phone)))
                for phone, role in group.participants.items()
            ]
            assert seen == expected
            answers |= {shown for _, _, shown in seen}
    assert answers == {True, False}  # some numbers are hidden from some viewers
