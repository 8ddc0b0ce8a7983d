"""previously:: a group's key renamed without losing what groupctl knows of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.config.diff import diff
from reconciler.errors import ConfigError
from tests.support.processes import run_groupctl

OLD = """version: 1
groups:
  sales-old:
    subject: Sales
    members: ["+1 415 555 0101"]
  eng:
    id: "120363000000000002@g.us"
    subject: Engineering
"""
NEW = """version: 1
groups:
  sales:
    subject: Sales
    previously: [sales-old]
    members: ["+1 415 555 0101", "+1 415 555 0102"]
  eng:
    id: "120363000000000002@g.us"
    subject: Engineering
"""


def write(tmp_path: Path, text: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_diff_shows_a_renamed_key_as_a_rename_with_its_own_changes(tmp_path: Path) -> None:
    result = diff(load(write(tmp_path, OLD, "a.yaml")), load(write(tmp_path, NEW, "b.yaml")))
    (change,) = result.groups
    assert (change.key, change.status, change.renamed_from) == ("sales", "changed", "sales-old")
    assert len(change.joins) == 1
    assert change.leaves == ()
    assert change.hint is None


def test_without_previously_the_same_change_is_a_removal_and_an_addition(tmp_path: Path) -> None:
    plain = NEW.replace("    previously: [sales-old]\n", "")
    result = diff(load(write(tmp_path, OLD, "a.yaml")), load(write(tmp_path, plain, "b.yaml")))
    assert sorted((c.key, c.status) for c in result.groups) == [
        ("sales", "added"),
        ("sales-old", "removed"),
    ]


def test_a_rename_of_key_and_subject_without_id_is_called_out_with_the_hint(
    groupctl: str, tmp_path: Path
) -> None:
    write(tmp_path, OLD, "a.yaml")
    write(tmp_path, NEW.replace("subject: Sales\n", "subject: Sales Team\n"), "b.yaml")
    (change,) = diff(load(tmp_path / "a.yaml"), load(tmp_path / "b.yaml")).groups
    assert change.renamed_from == "sales-old"
    assert change.hint is not None
    assert "add id:" in change.hint
    shown = run_groupctl(groupctl, "diff", "a.yaml", "b.yaml", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "renamed from 'sales-old'" in shown.stdout
    assert "add id:" in shown.stdout
    markdown = run_groupctl(
        groupctl, "diff", "a.yaml", "b.yaml", "--format", "markdown", cwd=tmp_path
    )
    assert "add id:" in markdown.stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (NEW.replace("previously: [sales-old]", "previously: [eng]"), "'eng' is still a group"),
        (
            NEW.replace(
                "    subject: Engineering\n",
                "    subject: Engineering\n    previously: [sales-old]\n",
            ),
            "'sales-old' is already claimed by group 'sales'",
        ),
        (NEW.replace("previously: [sales-old]", "previously: [sales]"), "its own key"),
        (
            NEW.replace("previously: [sales-old]", "previously: [sales-old, sales-old]"),
            "'sales-old' is listed twice",
        ),
    ],
)
def test_previously_keys_that_cannot_be_are_located_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, text, "groups.yaml"))
    assert message in str(caught.value)
