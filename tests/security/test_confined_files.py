"""Files are confined: a config's files and the files --write-ids edits are read and written
only if they are regular files inside the config's directory, with bounded reads. A pull
request cannot point groupctl at /etc/passwd, a FIFO (which would hang it) or /dev/zero
(which would eat its memory)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.config.write_ids import write_ids
from reconciler.core.jid import parse_group_jid
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
