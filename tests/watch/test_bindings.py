"""Which live group is which entry: an entry found by its subject stays its group's when
someone renames it (so watch renames it back instead of creating another) and while the
session is in it; an entry with an id is that group."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.groups import ListedGroup
from reconciler.core.jid import parse_group_jid
from reconciler.watch import WatchOptions
from reconciler.watch.bindings import Bindings
from tests.support.builders import desired, jid, want
from tests.support.watching import TEAM, TEAM_NOW, Clock, Setup, running


async def test_a_group_found_by_subject_and_renamed_is_renamed_back_not_created_again(
    tmp_path: Path,
) -> None:
    clock = Clock()
    config = desired(
        want("ops", "Ops", {}),  # checked first at a resync, with every binding redone
        want("team", "Team", TEAM_NOW),  # no id: found by its subject
    )
    setup = Setup(tmp_path, WatchOptions(self_heal=True), clock, config=config)
    async with running(setup):
        await setup.bob.set_subject(parse_group_jid(TEAM), "Renamed")
        clock.now += WatchOptions().resync_interval
        setup.watcher.tick()  # a resync comes first: ops, then team
        await setup.settle()
        groups = setup.sim.store.world().state.groups
        assert [g.subject for g in groups] == ["Team"]  # renamed back, and no second Team
        refused = setup.count("groupctl_heals_total", group="ops", result="refused")
        assert refused >= 1  # ops is not there: creating it is left to apply


OTHER = "120363000000000002@g.us"


def test_an_entry_found_by_its_subject_keeps_its_group_when_renamed() -> None:
    config = desired(want("team", "Team", {}))
    bindings = Bindings()
    bindings.bind((ListedGroup(jid(TEAM), "Team"),), config)
    renamed = (ListedGroup(jid(TEAM), "Renamed"), ListedGroup(jid(OTHER), "Team"))
    bindings.bind(renamed, config)
    assert bindings.key_of(jid(TEAM)) == "team"
    assert bindings.key_of(jid(OTHER)) is None
    assert bindings.pinned(config, config.groups[0]).groups[0].id == jid(TEAM)


def test_a_group_the_session_is_no_longer_in_is_no_entrys() -> None:
    config = desired(want("team", "Team", {}))
    bindings = Bindings()
    bindings.bind((ListedGroup(jid(TEAM), "Team"),), config)
    bindings.bind((), config)
    assert bindings.key_of(jid(TEAM)) is None
    assert bindings.pinned(config, config.groups[0]) is config


def test_an_entry_with_an_id_is_planned_as_the_config_says() -> None:
    config = desired(want("team", "Team", {}, id=TEAM))
    bindings = Bindings()
    bindings.bind((ListedGroup(jid(TEAM), "Renamed"),), config)
    assert bindings.key_of(jid(TEAM)) == "team"
    assert bindings.pinned(config, config.groups[0]) is config
