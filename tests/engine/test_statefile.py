"""What groupctl remembers between runs: invitations and recent leavers wait, then expire."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.core.groups import INVITED, LEFT_RECENTLY, LINK_SENT, NEEDS_INVITE
from reconciler.core.jid import parse_jid
from reconciler.engine.statefile import INVITED_WAIT, LEFT_WAIT, StateFile
from reconciler.errors import FileAccessError

GROUP = parse_jid("120363000000000001@g.us")
OLIVIA = parse_jid("+14155550111")
DAN = parse_jid("+14155550199")
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_an_invitation_waits_for_its_time_then_expires(tmp_path: Path) -> None:
    state_file = StateFile(tmp_path / "state.json")
    state_file.record(GROUP, OLIVIA, INVITED, NOW)
    state_file.record(GROUP, DAN, LEFT_RECENTLY, NOW)
    assert set(state_file.waiting(NOW + LEFT_WAIT - timedelta(seconds=1))[GROUP]) == {OLIVIA, DAN}
    assert set(state_file.waiting(NOW + LEFT_WAIT)[GROUP]) == {OLIVIA}
    assert state_file.waiting(NOW + INVITED_WAIT) == {}


def test_the_plan_note_says_until_when(tmp_path: Path) -> None:
    state_file = StateFile(tmp_path / "state.json")
    state_file.record(GROUP, OLIVIA, INVITED, NOW)
    note = state_file.waiting(NOW)[GROUP][OLIVIA].describe()
    assert "invited on 2026-01-01 12:00 UTC" in note
    assert "not invited again before 2026-01-08 12:00 UTC" in note


@pytest.mark.parametrize(
    ("reason", "says"),
    [
        (NEEDS_INVITE, "needs an invite since 2026-01-01 12:00 UTC"),
        (LINK_SENT, "sent the group's invite link by message on 2026-01-01 12:00 UTC"),
    ],
)
def test_needing_an_invite_and_a_sent_link_are_saved_and_wait_as_long_as_an_invitation(
    tmp_path: Path, reason: str, says: str
) -> None:
    path = tmp_path / "state.json"
    state_file = StateFile(path)
    state_file.record(GROUP, OLIVIA, reason, NOW)
    state_file.save(NOW)
    again = StateFile.load(path)
    waiting = again.waiting(NOW + INVITED_WAIT - timedelta(seconds=1))[GROUP][OLIVIA]
    assert waiting.reason == reason
    assert says in waiting.describe()
    assert "2026-01-08 12:00 UTC" in waiting.describe()
    assert again.waiting(NOW + INVITED_WAIT) == {}


def test_records_survive_a_save_and_expired_ones_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state_file = StateFile(path)
    state_file.record(GROUP, OLIVIA, INVITED, NOW)
    state_file.record(GROUP, DAN, LEFT_RECENTLY, NOW)
    state_file.save(NOW + LEFT_WAIT)
    again = StateFile.load(path)
    assert set(again.records[GROUP]) == {OLIVIA}
    assert again.records[GROUP][OLIVIA].since == NOW


def test_someone_seen_in_the_group_is_forgotten(tmp_path: Path) -> None:
    state_file = StateFile(tmp_path / "state.json")
    state_file.record(GROUP, OLIVIA, INVITED, NOW)
    state_file.prune(GROUP, present=[OLIVIA, DAN])
    assert state_file.records == {}


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        '{"waiting": {"x": 1}}',
        '{"waiting": {"120363000000000001@g.us": {"+1": {"reason": "?", "since": "now"}}}}',
    ],
)
def test_a_damaged_state_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "state.json"
    path.write_text(text)
    with pytest.raises(FileAccessError, match="not a groupctl state file"):
        StateFile.load(path)
