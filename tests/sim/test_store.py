"""The world file: created when missing, saved atomically, shared between processes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reconciler.errors import FileAccessError
from reconciler.sim.state import WorldState
from reconciler.sim.store import WorldStore
from tests.support.harness import DEFAULT, ENGINEERING, standard_world


def write(path: Path, world: WorldState) -> Path:
    path.write_text(world.model_dump_json())
    return path


def test_a_missing_file_becomes_a_world_with_the_default_session(tmp_path: Path) -> None:
    store = WorldStore.open(tmp_path / "new.json")
    assert [a.session for a in store.world().state.accounts] == ["default"]
    assert json.loads((tmp_path / "new.json").read_text())["accounts"][0]["session"] == "default"


def test_a_missing_file_is_an_error_when_creating_is_not_allowed(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match=r"no\.json: no such world file"):
        WorldStore.open(tmp_path / "no.json", create=False)


def test_a_change_is_on_disk_when_the_block_ends(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", standard_world())
    store = WorldStore.open(path)
    with store.change() as world:
        world.state.groups[0].subject = "Saved"
    assert WorldStore.open(path).world().state.groups[0].subject == "Saved"


def test_a_change_that_fails_leaves_nothing_behind(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", standard_world())
    store = WorldStore.open(path)

    def fail_half_way() -> None:
        with store.change() as world:
            world.state.groups[0].subject = "Half done"
            raise RuntimeError("failed half-way")

    with pytest.raises(RuntimeError):
        fail_half_way()
    assert store.world().state.groups[0].subject == "Engineering"
    assert json.loads(path.read_text())["groups"][0]["subject"] == "Engineering"


def test_a_store_sees_what_another_process_saved(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", standard_world())
    ours, theirs = WorldStore.open(path), WorldStore.open(path)
    with theirs.change() as world:
        world.state.groups[0].subject = "Theirs"
    assert ours.world().state.groups[0].subject == "Theirs"
    with ours.change() as world:  # builds on their change, does not overwrite it
        world.state.groups[0].description = "Ours"
    final = WorldStore.open(path).world().state.groups[0]
    assert (final.subject, final.description) == ("Theirs", "Ours")


def test_saving_replaces_the_file_whole_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", standard_world())
    inode = path.stat().st_ino
    store = WorldStore.open(path)
    with store.change() as world:
        world.state.groups[0].subject = "New"
    assert path.stat().st_ino != inode  # renamed over, never rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.json"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not a valid world file"),
        ('{"version": 2}', "version"),
        ('{"accounts": [{"session": "default"}]}', "accounts.0.phone: Field required"),
        ('{"groups": [], "colour": "red"}', "colour: Extra inputs are not permitted"),
        ('{"accounts": [{"session": "x", "phone": "12"}]}', "accounts.0.phone"),
    ],
)
def test_a_broken_world_file_is_reported_with_its_path(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(FileAccessError, match=r"broken\.json") as refused:
        WorldStore.open(path)
    assert problem in str(refused.value)


def test_people_the_file_does_not_list_get_a_stable_lid(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", standard_world())
    stranger = "+14155550177"
    first = WorldStore.open(path).world().person(stranger).lid
    assert first is not None
    assert WorldStore.open(path).world().person(stranger).lid == first
    assert WorldStore.open(path).world().person(DEFAULT).lid != first


def test_an_unreadable_world_file_says_why(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", standard_world())
    if os.geteuid() == 0:
        path.unlink()
        path.mkdir()  # root reads any file; a directory still cannot be read as one
    else:
        path.chmod(0)
    with pytest.raises(FileAccessError, match="cannot read the world file"):
        WorldStore.open(path)


def test_groups_are_found_by_id_after_a_reload(tmp_path: Path) -> None:
    path = write(tmp_path / "w.json", standard_world())
    world = WorldStore.open(path).world()
    account = world.account("default")
    assert world.group(account, ENGINEERING).subject == "Engineering"
