"""`groupctl watch` where Titan cannot show group pictures: a picture is healed once, then the
state file's record of it stands in for the live picture at every later check."""

from __future__ import annotations

from pathlib import Path

from reconciler.core.jid import parse_group_jid
from reconciler.watch import WatchOptions
from tests.support.builders import desired, want
from tests.support.pictures import LEFT, picture_file
from tests.support.watching import TEAM, TEAM_NOW, Clock, Setup, running


async def test_a_picture_is_uploaded_once_and_later_heals_leave_it_alone(tmp_path: Path) -> None:
    config = desired(want("team", "Team", TEAM_NOW, id=TEAM, picture=picture_file(tmp_path, LEFT)))
    # No backoff: the second heal comes at once, as any later one would.
    options = WatchOptions(self_heal=True, backoff=0.0)
    setup = Setup(tmp_path, options, Clock(), config=config)
    async with running(setup) as watched:
        assert watched.sim.store.world().state.groups[0].picture is not None  # healed at resync
        await watched.bob.set_subject(parse_group_jid(TEAM), "Renamed")
        await watched.settle()
        assert watched.sim.store.world().state.groups[0].subject == "Team"  # healed again
        uploads = sum(
            n
            for call, n in watched.sim.stats.by_call.items()
            if call.startswith("PUT ") and call.endswith("/picture")
        )
        assert uploads == 1
        assert watched.count("groupctl_heals_total", group="team", result="applied") == 2
