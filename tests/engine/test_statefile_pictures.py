"""The state file's record of the pictures apply uploaded: kept across runs, never expiring,
dropped with the group, read from older files that have none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from reconciler.core.groups import INVITED, UploadedPicture
from reconciler.core.jid import parse_jid
from reconciler.engine.statefile import INVITED_WAIT, StateFile
from reconciler.errors import FileAccessError

GROUP = parse_jid("120363000000000001@g.us")
OTHER = parse_jid("120363000000000002@g.us")
OLIVIA = parse_jid("+14155550111")
NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_an_uploaded_picture_survives_a_save_and_does_not_expire(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    state_file = StateFile(path)
    state_file.record(GROUP, OLIVIA, INVITED, NOW)
    state_file.record_picture(GROUP, "71cc963333968e71", NOW)
    state_file.save(NOW + INVITED_WAIT + timedelta(days=365))
    again = StateFile.load(path)
    assert again.pictures == {GROUP: UploadedPicture("71cc963333968e71", NOW)}
    assert again.records == {}  # the invitation expired; the picture record stays


def test_a_later_upload_replaces_the_record_and_leaving_the_group_drops_it(
    tmp_path: Path,
) -> None:
    state_file = StateFile(tmp_path / "state.json")
    state_file.record_picture(GROUP, "71cc963333968e71", NOW)
    state_file.record_picture(GROUP, "10284d8e96032bc4", NOW + timedelta(hours=1))
    state_file.record_picture(OTHER, "10284d8e96032bc4", NOW)
    assert state_file.pictures[GROUP] == UploadedPicture(
        "10284d8e96032bc4", NOW + timedelta(hours=1)
    )
    state_file.forget_group(GROUP)
    assert set(state_file.pictures) == {OTHER}


def test_a_state_file_from_before_picture_records_loads_with_none(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "waiting": {}}))
    assert StateFile.load(path).pictures == {}


@pytest.mark.parametrize(
    "pictures",
    [
        [],
        {"120363000000000001@g.us": {"fingerprint": "71cc963333968e71"}},
        {"120363000000000001@g.us": {"fingerprint": "not hex!", "uploaded": NOW.isoformat()}},
        {"120363000000000001@g.us": {"fingerprint": 12, "uploaded": NOW.isoformat()}},
        {"120363000000000001@g.us": {"fingerprint": "71cc963333968e71", "uploaded": "soon"}},
    ],
    ids=["not-a-mapping", "no-date", "not-a-fingerprint", "a-number", "not-a-date"],
)
def test_a_damaged_picture_record_is_a_clear_error(tmp_path: Path, pictures: object) -> None:
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"version": 1, "waiting": {}, "pictures": pictures}))
    with pytest.raises(FileAccessError, match="not a groupctl state file"):
        StateFile.load(path)
