"""Files are confined: a config's files, the state file and the files --write-ids edits are
read and written only if they are regular files inside their directory, with bounded reads. A
pull request cannot point groupctl at /etc/passwd, a FIFO (which would hang it) or /dev/zero
(which would eat its memory); a malformed state file is one clear error."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.config.write_ids import write_ids
from reconciler.core.jid import parse_group_jid
from reconciler.engine.statefile import StateFile
from reconciler.errors import ConfigError, FileAccessError, GroupctlError

GROUP = "version: 1\ngroups:\n  team:\n    subject: Team\n"
NEW = parse_group_jid("120363000000000999@g.us")


def test_a_config_file_linked_out_of_its_directory_is_not_read(tmp_path: Path) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(GROUP)
    config = tmp_path / "config"
    config.mkdir()
    (config / "groups.yaml").symlink_to(outside)
    with pytest.raises(ConfigError, match="leads out of") as refused:
        load(config)
    assert "groups.yaml:1:1" in str(refused.value)


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_config_that_is_no_regular_file_is_refused_unread(tmp_path: Path, special: str) -> None:
    config = tmp_path / "groups.yaml"
    if special == "fifo":
        os.mkfifo(config)  # read as a file, it would block for ever
    else:
        config.symlink_to(special)  # read as a file, it would never end
    with pytest.raises(ConfigError, match="not read") as refused:
        load(config)
    assert "not a regular file" in str(refused.value) or "leads out of" in str(refused.value)


def test_write_ids_does_not_follow_a_config_file_linked_out_of_its_directory(
    tmp_path: Path,
) -> None:
    inside = tmp_path / "config"
    inside.mkdir()
    (inside / "groups.yaml").write_text(GROUP)
    desired = load(inside)
    # After the load, the file is swapped for a link to a file outside (a race, or a
    # checkout that changed): the ids must not be written there.
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(GROUP)
    (inside / "groups.yaml").unlink()
    (inside / "groups.yaml").symlink_to(outside)
    with pytest.raises(FileAccessError, match="leads out of"):
        write_ids(desired, {"team": NEW}, root=inside)
    assert outside.read_text() == GROUP


def test_write_ids_refuses_a_target_that_is_not_a_regular_file(tmp_path: Path) -> None:
    config = tmp_path / "groups.yaml"
    config.write_text(GROUP)
    desired = load(config)
    config.unlink()
    os.mkfifo(config)
    with pytest.raises(GroupctlError, match="not a regular file"):
        write_ids(desired, {"team": NEW}, root=tmp_path)


def test_a_state_file_linked_out_of_its_directory_is_neither_read_nor_written(
    tmp_path: Path,
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "bashrc"
    target.write_text("echo hello\n")
    config = tmp_path / "config"
    config.mkdir()
    (config / ".groupctl-state.json").symlink_to(target)
    with pytest.raises(FileAccessError, match="leads out of"):
        StateFile.load(config / ".groupctl-state.json")
    state_file = StateFile(config / ".groupctl-state.json")
    with pytest.raises(FileAccessError, match="leads out of"):
        state_file.save()
    assert target.read_text() == "echo hello\n"


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_a_state_file_that_is_no_regular_file_is_refused_unread(
    tmp_path: Path, special: str
) -> None:
    path = tmp_path / ".groupctl-state.json"
    if special == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to(special)
    with pytest.raises(FileAccessError, match=r"not a regular file|leads out of"):
        StateFile.load(path)


@pytest.mark.parametrize(
    ("contents", "why"),
    [
        ({"waiting": {}}, "version None"),
        ({"version": 2, "waiting": {}}, "version 2"),
        (
            {
                "version": 1,
                "waiting": {
                    "120363000000000001@g.us": {
                        "14155550101@s.whatsapp.net": {
                            "reason": "invited",
                            "since": "2026-12-01T10:00:00",
                        }
                    }
                },
            },
            "has no time zone",
        ),
        (
            {
                "version": 1,
                "waiting": {
                    "120363000000000001@g.us": {
                        "14155550101@s.whatsapp.net": {
                            "reason": "invited",
                            "since": "9999-12-31T23:00:00+00:00",
                        }
                    }
                },
            },
            "out of range",
        ),
    ],
    ids=["no-version", "other-version", "naive-date", "date-out-of-range"],
)
def test_a_malformed_state_file_is_one_clear_error(
    tmp_path: Path, contents: dict[str, object], why: str
) -> None:
    path = tmp_path / ".groupctl-state.json"
    path.write_text(json.dumps(contents))
    with pytest.raises(FileAccessError, match="not a groupctl state file") as refused:
        StateFile.load(path)
    assert why in str(refused.value)
