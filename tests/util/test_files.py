"""Atomic file replacement keeps what a plain write would keep."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.util.files import replace_atomically


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_replaced_file_keeps_its_permissions(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text("old")
    path.chmod(0o644)
    replace_atomically(path, b"new")
    assert path.read_text() == "new"
    assert mode(path) == 0o644


def test_a_new_file_gets_the_umask_not_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        replace_atomically(tmp_path / "plan.json", b"{}")
    finally:
        os.umask(old)
    assert mode(tmp_path / "plan.json") == 0o644


def test_a_symlink_is_followed_and_stays_a_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "groups.yaml"
    target.write_text("old")
    link = tmp_path / "groups.yaml"
    link.symlink_to(target)
    replace_atomically(link, b"new")
    assert link.is_symlink()
    assert target.read_text() == "new"


def test_nothing_is_left_behind(tmp_path: Path) -> None:
    replace_atomically(tmp_path / "a.json", b"1")
    replace_atomically(tmp_path / "a.json", b"2")
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]
