"""`apply --write-ids`: one id line per created group, and not a byte more changed."""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.config.write_ids import write_ids
from reconciler.core.jid import parse_group_jid

NEW = parse_group_jid("120363000000000999@g.us")


@pytest.mark.parametrize(
    ("before", "added"),
    [
        (  # four spaces, sequences at the key's column, comments everywhere
            "version: 1\ngroups:\n    # the team\n    team:   # ours\n        subject: Team  # x\n"
            "        members:\n        - '+14155550101'\n",
            ['+        id: "120363000000000999@g.us"\n'],
        ),
        (  # two spaces, indented sequences
            "version: 1\ngroups:\n  team:\n    subject: Team\n    members:\n"
            "      - '+14155550101'\n",
            ['+    id: "120363000000000999@g.us"\n'],
        ),
        (  # a flow mapping
            "version: 1\ngroups:\n  team: {subject: Team, members: ['+14155550101']}\n",
            [
                "-  team: {subject: Team, members: ['+14155550101']}\n",
                '+  team: {id: "120363000000000999@g.us", subject: Team,'
                " members: ['+14155550101']}\n",
            ],
        ),
    ],
)
def test_only_the_id_is_added_whatever_the_layout(
    tmp_path: Path, before: str, added: list[str]
) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(before)
    assert write_ids(load(path), {"team": NEW}, root=tmp_path) == [path]
    after = path.read_text()
    diff = [
        line
        for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert diff == added
    assert load(path).groups[0].id == NEW


def test_several_groups_in_one_file_each_get_their_id(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "version: 1\ngroups:\n  a:\n    subject: A\n  b: {subject: B}\n  c:\n    subject: C\n"
    )
    other = parse_group_jid("120363000000000998@g.us")
    write_ids(load(path), {"a": NEW, "c": other}, root=tmp_path)
    ids = {group.key: group.id for group in load(path).groups}
    assert ids == {"a": NEW, "b": None, "c": other}
