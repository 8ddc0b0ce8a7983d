"""No state record is lost to another run (issue 13, item 3): a save writes what the file holds
now with this run's changes on top, and a run that keeps the file open (watch) reads what
another saved before it plans, and before it heals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from reconciler.core.groups import INVITED, LEFT_RECENTLY, NEEDS_INVITE
from reconciler.core.jid import parse_group_jid, parse_jid
from reconciler.engine.statefile import StateFile, lock_for
from reconciler.watch import WatchOptions
from tests.support.watching import ALICE, ALICE_JID, TEAM, Clock, Setup, running

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


async def test_watch_does_not_add_again_someone_an_apply_just_asked(tmp_path: Path) -> None:
    # Watch keeps the state file open for days. An apply, meanwhile, asked Alice to join (her
    # privacy settings refuse adds) and recorded it; Bob removes her by hand. Watch must see
    # the record, or it adds her again: a second invitation.
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
