"""Which live group is which entry: an entry found by its subject stays its group's when
someone renames it (so watch renames it back instead of creating another) and while the
session is in it; an entry with an id is that group."""

from __future__ import annotations

from pathlib import Path

import httpx

from reconciler.core.groups import ListedGroup
from reconciler.core.jid import parse_group_jid
from reconciler.sim.webhooks import envelope
from reconciler.watch import WatchOptions
from reconciler.watch.bindings import Bindings
from tests.support.builders import desired, jid, want
from tests.support.watching import TEAM, TEAM_NOW, Clock, Setup, running, signed


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


async def renamed(setup: Setup, group: str) -> int:
    """A `group.update` of `group` delivered to watch: the answer's status."""
    body = envelope("group.update", {"id": group, "newSubject": "x"}, "default")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=setup.watcher.app), base_url="http://watch.test"
    ) as http:
        answer = await http.post("/webhooks/titan", content=body, headers=signed(body))
    return answer.status_code


async def test_a_change_before_the_first_check_binds_its_group_is_checked_after_it(
    tmp_path: Path,
) -> None:
    # Watch listens before its first resync has found which group is which entry's: a change
    # then (perhaps read by the check under way, perhaps not) must not be taken for a change
    # of a group no entry manages.
    setup = Setup(tmp_path, WatchOptions(), Clock(), config=desired(want("team", "Team", {})))
    assert await renamed(setup, TEAM) == 202
    assert await renamed(setup, OTHER) == 202  # no entry's, but that is not known yet
    async with running(setup):  # the first resync: team is found by its subject
        assert setup.count("groupctl_group_checks_total") == 2  # and checked once more
        assert await renamed(setup, OTHER) == 200  # every entry checked: OTHER is no one's
        assert await renamed(setup, TEAM) == 202
