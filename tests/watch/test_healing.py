"""Self-heal: a drifted group is healed once and the webhooks of its own changes cause no
second round; a group that keeps drifting is healed with backoff, not in a tight loop."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.jid import parse_group_jid
from reconciler.watch import WatchOptions
from tests.support.watching import ALICE, ALICE_JID, TEAM, Clock, Setup, running


async def test_drift_is_healed_once_and_its_own_webhooks_cause_no_second_round(
    tmp_path: Path,
) -> None:
    async with running(Setup(tmp_path, WatchOptions(self_heal=True), Clock())) as setup:
        await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
        await setup.bob.set_subject(parse_group_jid(TEAM), "Renamed")
        await setup.settle()
        assert setup.participants()[ALICE] == "member"
        assert setup.sim.store.world().state.groups[0].subject == "Team"
        heals = setup.count("groupctl_heals_total", group="team", result="applied")
        assert heals == 1
        assert setup.count("groupctl_webhooks_total", result="own_change") >= 2


async def test_a_group_that_keeps_drifting_is_healed_with_backoff(tmp_path: Path) -> None:
    clock = Clock()
    options = WatchOptions(self_heal=True, backoff=2.0, backoff_max=3600.0)
    async with running(Setup(tmp_path, options, clock)) as setup:
        for _ in range(60):  # someone removes Alice again every second, for a minute
            if ALICE in setup.participants():
                await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
            await setup.settle()
            clock.now += 1
            setup.watcher.tick()
            await setup.settle()
        applied = setup.count("groupctl_heals_total", group="team", result="applied")
        deferred = setup.count("groupctl_heals_total", group="team", result="deferred")
    # Heals at 0, 2, 6, 14, 30 and 62 s at most: not 60 of them.
    assert 4 <= applied <= 6
    assert deferred > 0
