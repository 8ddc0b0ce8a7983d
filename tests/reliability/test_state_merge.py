"""No state record is lost to another run (issue 13, item 3): a save writes what the file holds
now with this run's changes on top, and a run that keeps the file open (watch) reads what
another saved before it plans, and before it heals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reconciler.core.groups import INVITED, LEFT_RECENTLY, NEEDS_INVITE
from reconciler.core.jid import parse_group_jid, parse_jid
from reconciler.engine.planner import PlanPolicy
from reconciler.engine.service import plan_now
from reconciler.engine.statefile import StateFile, lock_for, now_utc
from reconciler.watch import WatchOptions
from reconciler.watch.bindings import Bindings
from reconciler.watch.echoes import Echoes
from reconciler.watch.healing import Healer
from reconciler.watch.metrics import Metrics
from reconciler.watch.session import SessionState
from tests.support.builders import desired, want
from tests.support.watching import ALICE, ALICE_JID, TEAM, TEAM_NOW, Clock, Setup, running

GROUP = parse_group_jid("120363000000000001@g.us")
OTHER = parse_group_jid("120363000000000002@g.us")
OLIVIA, DAN, EVE = parse_jid("+14155550111"), parse_jid("+14155550199"), parse_jid("+14155550198")
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
SEAL = "hmac-sha256:" + "ab" * 32


def test_two_runs_that_read_the_file_before_either_saved_keep_each_others_records(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    first = StateFile(path)
    first.record(GROUP, OLIVIA, NEEDS_INVITE, NOW)
    first.save(NOW)
    one, two = StateFile.load(path), StateFile.load(path)
    one.record(GROUP, DAN, INVITED, NOW)
    one.record_picture(OTHER, "71cc963333968e71", NOW)
    one.record_applied(SEAL, made=NOW, now=NOW)
    one.save(NOW)
    two.forget(GROUP, OLIVIA)  # she joined: seen in the group by the second run
    two.record(OTHER, EVE, LEFT_RECENTLY, NOW)
    two.save(NOW)
    final = StateFile.load(path)
    assert {group: set(people) for group, people in final.records.items()} == {
        GROUP: {DAN},
        OTHER: {EVE},
    }
    assert set(final.pictures) == {OTHER}
    assert set(final.applied) == {SEAL}
    assert (two.records, two.pictures, two.applied) == (
        final.records,
        final.pictures,
        final.applied,
    )


def test_a_run_that_keeps_the_file_open_reads_what_another_saved_and_says_so(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    kept = StateFile.load(path)
    assert kept.refresh() is False
    another = StateFile.load(path)
    another.record(GROUP, OLIVIA, NEEDS_INVITE, NOW)
    another.save(NOW)
    assert kept.refresh() is True
    assert set(kept.waiting(NOW)[GROUP]) == {OLIVIA}
    assert kept.refresh() is False  # read once


async def test_watch_neither_reports_nor_heals_as_drift_someone_an_apply_just_asked(
    tmp_path: Path,
) -> None:
    # Watch keeps the state file open for days. An apply, meanwhile, asked Alice to join (her
    # privacy settings refuse adds) and recorded it; Bob removes her by hand. Watch must see
    # the record when it checks the group, or it reports her missing and adds her again: a
    # second invitation.
    path = tmp_path / "state.json"
    options = WatchOptions(self_heal=True)
    setup = Setup(tmp_path, options, Clock(), state_file=StateFile.load(path))
    async with running(setup):
        apply = StateFile.load(path)
        apply.record(parse_group_jid(TEAM), ALICE_JID, NEEDS_INVITE, datetime.now(UTC))
        apply.save()
        await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
        await setup.settle()
        assert ALICE not in setup.participants()
        assert setup.count("groupctl_drift_total", group="team") == 0
        assert setup.count("groupctl_heals_total", group="team", result="applied") == 0


async def test_watch_heals_only_under_the_lock_and_later_when_an_apply_holds_it(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.json"
    clock = Clock()
    options = WatchOptions(self_heal=True, backoff=2.0)
    async with running(Setup(tmp_path, options, clock, state_file=StateFile.load(path))) as setup:
        apply = lock_for(path, holder="groupctl apply")
        assert apply.try_acquire() is None
        await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
        await setup.settle()
        assert ALICE not in setup.participants()  # not healed while the apply runs
        assert setup.count("groupctl_heals_total", group="team", result="deferred") == 1
        apply.release()
        clock.now += options.backoff
        setup.watcher.tick()
        await setup.settle()
        assert setup.participants()[ALICE] == "member"
        assert setup.count("groupctl_heals_total", group="team", result="applied") == 1
    assert not path.with_name("state.json.lock").exists()


async def test_a_heal_planned_before_another_run_saved_the_state_file_waits_for_a_new_check(
    tmp_path: Path,
) -> None:
    # The other run saves after watch's check read the file and before its heal: the heal,
    # under the lock, finds the file changed and leaves the group to a new check.
    path = tmp_path / "state.json"
    kept = StateFile.load(path)
    setup = Setup(tmp_path, WatchOptions(), Clock())  # its worker is not started
    metrics = Metrics()
    healer = Healer(
        client=setup.client,
        state_file=kept,
        options=WatchOptions(self_heal=True),
        session=SessionState("default", metrics),
        bindings=Bindings(),
        echoes=Echoes(300),
        metrics=metrics,
        pictures=tmp_path,
        clock=Clock(),
        now=now_utc,
    )
    await setup.bob.remove_participants(parse_group_jid(TEAM), [ALICE_JID])
    config = desired(want("team", "Team", TEAM_NOW, id=TEAM))
    checked = await plan_now(setup.client, config, PlanPolicy(), kept)
    assert [a.kind.value for a in checked.plan.groups[0].actions] == ["add"]
    apply = StateFile.load(path)
    apply.record(parse_group_jid(TEAM), ALICE_JID, NEEDS_INVITE, now_utc())
    apply.save()
    await healer.heal("team", checked)
    assert ALICE not in setup.participants()
    labels = {"group": "team", "result": "deferred"}
    assert metrics.registry.get_sample_value("groupctl_heals_total", labels) == 1
    await setup.client.aclose()
    await setup.bob.aclose()
