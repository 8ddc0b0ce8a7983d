"""`groupctl diff`: two versions of the config compared, without the API."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from reconciler.config import load
from reconciler.config.diff import ConfigDiff, diff
from reconciler.core.jid import parse_jid
from reconciler.render import diff as render_diff
from tests.support.processes import run_groupctl

BASE = """version: 1
people:
  alice: "+1 415 555 0101"
  bob: "+1 415 555 0102"
  carol: "+1 415 555 0103"
teams:
  core: [alice, bob]
groups:
  eng:
    subject: Engineering
    members: [team:core, carol]
    admins: [alice]
  sales:
    subject: Sales
    members: [bob]
  old:
    subject: Old project
    members: [carol]
"""


def config(tmp_path: Path, text: str, name: str = "groups.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def compare(tmp_path: Path, before: str, after: str) -> ConfigDiff:
    return diff(load(config(tmp_path, before, "a.yaml")), load(config(tmp_path, after, "b.yaml")))


def text_of(result: ConfigDiff) -> str:
    return "".join(f"{line}\n" for line, _ in render_diff.lines(result))


def jids(*people: str) -> tuple[str, ...]:
    return tuple(parse_jid(person) for person in people)


def test_who_joins_leaves_gains_and_loses_admin_and_what_is_renamed(tmp_path: Path) -> None:
    after = (
        BASE.replace("members: [team:core, carol]", "members: [alice, carol, '+1 415 555 0104']")
        .replace("admins: [alice]", "admins: [carol]")
        .replace("subject: Sales", "subject: Sales EMEA")
    )
    result = compare(tmp_path, BASE, after)
    eng, sales = result.groups
    assert (eng.key, eng.status) == ("eng", "changed")
    assert eng.joins == jids("+14155550104")
    assert eng.leaves == jids("+14155550102")
    assert eng.promoted == jids("+14155550103")
    assert eng.demoted == jids("+14155550101")
    assert (sales.settings, sales.subject) == ((("subject", "Sales", "Sales EMEA"),), "Sales EMEA")
    assert result.is_destructive


def test_groups_added_and_dropped(tmp_path: Path) -> None:
    after = BASE.replace("  old:\n    subject: Old project\n    members: [carol]\n", "") + (
        "  new:\n    subject: New\n    members: [carol]\n    admins: [bob]\n"
    )
    result = compare(tmp_path, BASE, after)
    assert [(g.key, g.status) for g in result.groups] == [("new", "added"), ("old", "removed")]
    new, old = result.groups
    assert new.joins == jids("+14155550102", "+14155550103")
    assert new.promoted == jids("+14155550102")
    assert old.leaves == ()  # dropped from the config: no longer managed, nobody removed
    assert not result.is_destructive
    assert "groupctl stops managing it" in text_of(result)


def test_settings_and_a_new_number_for_someone(tmp_path: Path) -> None:
    after = (
        BASE.replace('bob: "+1 415 555 0102"', 'bob: "+1 415 555 0199"')
        .replace("    subject: Old project\n", "    subject: Old project\n    ensure: absent\n")
        .replace("    members: [carol]\n", "")
    )
    result = compare(tmp_path, BASE, after)
    assert result.readdressed == (("bob", *jids("+14155550102", "+14155550199")),)
    old = next(g for g in result.groups if g.key == "old")
    assert ("ensure", "present", "absent") in old.settings
    text = text_of(result)
    assert "~ person bob: +1 415-555-0102 -> +1 415-555-0199" in text
    assert "- member       bob (+1 415-555-0102)" in text  # left eng and sales by that number
    assert result.is_destructive  # a group to be left


def test_a_picture_replaced_under_the_same_name_is_a_change(tmp_path: Path) -> None:
    text = "version: 1\ngroups:\n  g: {subject: G, picture: logo.png}\n"
    states = []
    for version, color in (("old", (255, 0, 0)), ("same", (255, 0, 0)), ("new", (0, 0, 255))):
        (tmp_path / version).mkdir()
        Image.new("RGB", (8, 8), color).save(tmp_path / version / "logo.png")
        states.append(load(config(tmp_path / version, text)))
    old, same, new = states
    assert not diff(old, same).has_changes
    assert [name for name, _, _ in diff(old, new).groups[0].settings] == ["picture"]


def test_a_diff_needs_no_picture_files(groupctl: str, tmp_path: Path) -> None:
    """A checkout without the pictures (or a PR that renames one) still diffs: the configs
    are compared as they are written, a missing file by its name, and a pipe is not read."""
    old = config(tmp_path, "version: 1\ngroups:\n  g: {subject: G, picture: a.png}\n", "old.yaml")
    new = config(tmp_path, "version: 1\ngroups:\n  g: {subject: G, picture: b.png}\n", "new.yaml")
    os.mkfifo(tmp_path / "b.png")  # read, it would hang the diff
    same = run_groupctl(groupctl, "diff", "old.yaml", "old.yaml", cwd=tmp_path)
    assert (same.returncode, same.stderr) == (0, "")
    assert "Config diff: no changes." in same.stdout
    changed = run_groupctl(groupctl, "diff", str(old), str(new), "--format", "json", cwd=tmp_path)
    assert changed.returncode == 0, changed.stderr
    (group,) = json.loads(changed.stdout)["groups"]
    (setting,) = group["settings"]
    assert setting["name"] == "picture"
    assert setting["old"] == "a.png (not there)"
    assert setting["new"] == "b.png (not a file)"
    # validate, for its part, still says which files are missing.
    checked = run_groupctl(groupctl, "validate", "-f", str(old), cwd=tmp_path)
    assert checked.returncode == 1
    assert "the picture file 'a.png' does not exist" in checked.stderr


def test_no_changes(tmp_path: Path) -> None:
    result = compare(tmp_path, BASE, BASE)
    assert not result.has_changes
    assert result.summary() == "Config diff: no changes."


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository with two commits of a config in configs/: the second one renames
    sales, adds dave to eng as admin, and removes carol."""
    repo = tmp_path / "repo"
    (repo / "configs").mkdir(parents=True)
    git(repo, "init", "-q")
    config(repo / "configs", BASE)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "first")
    changed = (
        BASE.replace("members: [team:core, carol]", "members: [team:core, dave]")
        .replace("admins: [alice]", "admins: [alice, dave]")
        .replace("subject: Sales", "subject: Sales EMEA")
        .replace('  carol: "+1 415 555 0103"', '  dave: "+1 415 555 0104"')
        .replace("  old:\n    subject: Old project\n    members: [carol]\n", "")
    )
    config(repo / "configs", changed)
    git(repo, "commit", "-qam", "second")
    return repo


def test_diff_against_a_git_revision_needs_no_api_key(groupctl: str, repo: Path) -> None:
    done = run_groupctl(groupctl, "diff", "--base", "HEAD~1", "-f", "configs/groups.yaml", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Config diff: HEAD~1:configs/groups.yaml -> configs/groups.yaml")
    for line in (
        '~ group "Engineering" [eng]',
        "+ admin        dave (+1 415-555-0104)",
        "- member       carol (+1 415-555-0103)",
        '~ subject      "Sales" -> "Sales EMEA"',
        '- group "Old project" [old]',
    ):
        assert line in done.stdout, line


def test_diff_from_a_subdirectory_with_a_directory_config_in_json(
    groupctl: str, repo: Path
) -> None:
    done = run_groupctl(
        groupctl,
        "diff",
        "--base",
        "HEAD~1",
        "-f",
        ".",
        "--format",
        "json",
        "--detailed-exitcode",
        cwd=repo / "configs",
    )
    assert done.returncode == 3, done.stderr  # carol leaves
    data = json.loads(done.stdout)
    assert [(g["key"], g["status"]) for g in data["groups"]] == [
        ("eng", "changed"),
        ("sales", "changed"),
        ("old", "removed"),
    ]
    assert data["directory"]["14155550104@s.whatsapp.net"] == "dave"


def test_diff_with_a_base_where_the_config_did_not_exist(groupctl: str, repo: Path) -> None:
    config(repo, BASE, "new.yaml")
    done = run_groupctl(groupctl, "diff", "--base", "HEAD", "-f", "new.yaml", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "3 groups (3 added)" in done.stdout


def test_a_broken_config_at_the_base_names_the_revision(groupctl: str, repo: Path) -> None:
    config(repo / "configs", "version: 1\ngroups:\n  g: {subject: ''}\n")
    git(repo, "commit", "-qam", "broken")
    config(repo / "configs", BASE)
    done = run_groupctl(groupctl, "diff", "--base", "HEAD", "-f", "configs/groups.yaml", cwd=repo)
    assert done.returncode == 1
    assert "HEAD:configs/groups.yaml:3:16: the subject is empty" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base", "no-such-branch"], "'no-such-branch' is not a git revision here"),
        (["--base", "--output=x"], "it would be read as an option"),
        ([], "say what to compare"),
    ],
)
def test_bad_diff_requests_are_clear_errors(
    groupctl: str, repo: Path, args: list[str], message: str
) -> None:
    done = run_groupctl(groupctl, "diff", "-f", "configs/groups.yaml", *args, cwd=repo)
    assert done.returncode == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_markdown_diff_for_a_pull_request(groupctl: str, repo: Path) -> None:
    done = run_groupctl(
        groupctl,
        "diff",
        "--base",
        "HEAD~1",
        "-f",
        "configs/groups.yaml",
        "--format",
        "markdown",
        "--mask-phones",
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(
        "### groupctl config diff against <code>HEAD&#126;1&#58;configs/groups&#46;yaml</code>"
    )
    assert "```diff\n+ admin        dave (…0104)" in done.stdout
    assert "415-555" not in done.stdout


def test_links_in_the_repository_are_not_extracted_from_the_base(groupctl: str, repo: Path) -> None:
    (repo / "configs" / "passwd.png").symlink_to("/etc/passwd")
    (repo / "configs" / "up").symlink_to("..")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "links")
    done = run_groupctl(groupctl, "diff", "--base", "HEAD", "-f", "configs/groups.yaml", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "Config diff: no changes." in done.stdout


def test_a_new_entry_that_deletes_a_live_group_is_shown_as_going(tmp_path: Path) -> None:
    after = (
        BASE
        + "  legacy:\n    subject: Legacy chat\n    ensure: absent\n    absent_action: delete\n"
    )
    result = compare(tmp_path, BASE, after)
    (legacy,) = result.groups
    assert (legacy.status, legacy.goes) == ("added", "delete")
    assert result.is_destructive
    assert '- group to delete "Legacy chat" [legacy]' in text_of(result)


@pytest.mark.slow
def test_only_the_config_is_taken_from_git_not_the_repository_around_it(
    groupctl: str, repo: Path
) -> None:
    config(repo, BASE)  # a groups.yaml at the top of the repository...
    with (repo / "dataset.bin").open("wb") as big:  # ...beside 65 MiB of something else
        big.truncate(65 * 1024 * 1024)
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "big")
    done = run_groupctl(groupctl, "diff", "--base", "HEAD", cwd=repo)
    assert done.returncode == 0, done.stderr
    assert "Config diff: no changes." in done.stdout
