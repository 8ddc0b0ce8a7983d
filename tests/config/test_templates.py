"""templates: and extends:: groups built from named partial groups, merged in order with the
group's own keys last; mistakes located at the template and at the group."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.config.diff import diff
from reconciler.core.jid import parse_jid
from reconciler.errors import ConfigError
from tests.support.processes import run_groupctl

CONFIG = """version: 1
people:
  alice: "+1 415 555 0101"
  bob: "+1 415 555 0102"
  carol: "+1 415 555 0103"
templates:
  company:
    description: Run by groupctl
    admins: [alice]
    min_admins: 1
    limits: {max_removals: 3}
  quiet:
    members_policy: additive
    description: Quiet
groups:
  eng:
    subject: Engineering
    extends: [company]
    members: [bob]
  sales:
    subject: Sales
    extends: [company, quiet]
    members: [carol]
    min_admins: 0
  plain:
    subject: Plain
    members: [bob]
"""


def write(tmp_path: Path, text: str, name: str = "groups.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_group_takes_its_templates_in_order_and_its_own_keys_last(tmp_path: Path) -> None:
    groups = {g.key: g for g in load(write(tmp_path, CONFIG)).groups}
    eng, sales, plain = groups["eng"], groups["sales"], groups["plain"]
    alice, bob = parse_jid("+14155550101"), parse_jid("+14155550102")
    assert eng.state.description == "Run by groupctl"
    assert eng.state.admins == {alice}
    assert set(eng.state.members) == {alice, bob}
    assert (eng.policy.min_admins, eng.policy.max_removals) == (1, 3)
    assert eng.policy.members_policy == "exact"
    # quiet comes after company: its description wins; the group's own min_admins wins.
    assert sales.state.description == "Quiet"
    assert sales.policy.members_policy == "additive"
    assert (sales.policy.min_admins, sales.policy.max_removals) == (0, 3)
    assert plain.state.description is None
    assert plain.policy.max_removals is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            (
                "extends: [company]\n    members: [bob]",
                "extends: [company, nope]\n    members: [bob]",
            ),
            ["groups.yaml:18:24: unknown template 'nope'; the templates are company, quiet"],
        ),
        (  # once, at the template: not again for each group that takes it
            ("    admins: [alice]\n", "    admins: [alice, dave]\n"),
            ["groups.yaml:9:21: unknown person 'dave'"],
        ),
        (  # a template no group takes is checked all the same
            ("  quiet:\n", "  unused:\n    members: [ghost]\n  quiet:\n"),
            ["groups.yaml:13:15: unknown person 'ghost'"],
        ),
        (  # wrong only for the group that takes it: said at the template, naming the group
            (
                "  plain:\n    subject: Plain\n    members: [bob]\n",
                "  plain:\n    subject: Plain\n    ensure: absent\n    extends: [company]\n",
            ),
            [
                "groups.yaml:9:5 (in group 'plain', which extends template 'company' at"
                " groups.yaml:28:5): group 'plain' is ensure: absent but lists members"
            ],
        ),
        (
            ("  quiet:\n", "  quiet:\n    subject: Nope\n"),
            ["groups.yaml:13:5: 'subject' cannot be in a template: it is a group's own"],
        ),
        (
            (
                "extends: [company]\n    members: [bob]",
                "extends: [company, company]\n    members: [bob]",
            ),
            ["groups.yaml:18:24: template 'company' is listed twice"],
        ),
    ],
)
def test_mistakes_point_at_the_template_and_at_the_group(
    tmp_path: Path, change: tuple[str, str], expected: list[str]
) -> None:
    assert change[0] in CONFIG
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, CONFIG.replace(*change)))
    shown = [str(problem).replace(f"{tmp_path}/", "") for problem in caught.value.problems]
    for line in expected:
        assert sum(s.startswith(line) for s in shown) == 1, shown
    assert len(shown) == len(expected), shown


def test_templates_may_be_in_another_file_of_a_directory(tmp_path: Path) -> None:
    head, groups = CONFIG.split("groups:\n")
    directory = tmp_path / "config"
    directory.mkdir()
    write(directory, head, "a-templates.yaml")
    write(directory, "version: 1\ngroups:\n" + groups, "z-groups.yaml")
    (eng,) = [g for g in load(directory).groups if g.key == "eng"]
    assert eng.state.description == "Run by groupctl"


def test_a_template_change_shows_in_diff_as_the_change_of_every_group_that_extends_it(
    groupctl: str, tmp_path: Path
) -> None:
    before = write(tmp_path, CONFIG, "before.yaml")
    after = write(
        tmp_path,
        CONFIG.replace("    admins: [alice]\n", "    admins: [alice, carol]\n").replace(
            "max_removals: 3", "max_removals: 5"
        ),
        "after.yaml",
    )
    changes = {c.key: c for c in diff(load(before), load(after)).groups}
    assert set(changes) == {"eng", "sales"}
    carol = parse_jid("+14155550103")
    assert changes["eng"].joins == (carol,)
    assert changes["sales"].promoted == (carol,)  # she was a member of sales already
    assert ("max_removals", 3, 5) in changes["eng"].settings
    shown = run_groupctl(groupctl, "diff", "before.yaml", "after.yaml", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "Engineering" in shown.stdout
    assert "Sales" in shown.stdout
    assert "Plain" not in shown.stdout


def test_validate_explain_says_where_each_value_of_a_group_comes_from(
    groupctl: str, tmp_path: Path
) -> None:
    write(tmp_path, CONFIG)
    explained = run_groupctl(groupctl, "validate", "--explain", "sales", cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr
    lines = explained.stdout.splitlines()
    assert lines[0] == "group 'sales' (groups.yaml:20:3)"
    assert '  subject: "Sales"  # groups.yaml:21:14' in lines
    assert "  description: \"Quiet\"  # groups.yaml:14:18, template 'quiet'" in lines
    assert "  admins: [\"alice\"]  # groups.yaml:9:13, template 'company'" in lines
    assert "  min_admins: 0  # groups.yaml:24:17" in lines
    as_json = run_groupctl(
        groupctl, "validate", "--explain", "sales", "--format", "json", cwd=tmp_path
    )
    data = json.loads(as_json.stdout)
    assert data["keys"]["description"] == {
        "value": "Quiet",
        "from": "groups.yaml:14:18",
        "template": "quiet",
    }
    unknown = run_groupctl(groupctl, "validate", "--explain", "nope", cwd=tmp_path)
    assert unknown.returncode == 1
    assert "no group 'nope' in the config" in unknown.stderr


def test_the_readmes_template_example_explains_as_the_readme_says(
    groupctl: str, tmp_path: Path
) -> None:
    readme = (Path(__file__).parent.parent.parent / "README.md").read_text()
    section = readme[readme.index("### Templates") :]
    start = section.index("```yaml\n") + len("```yaml\n")
    write(tmp_path, section[start : section.index("```", start)])
    shown_start = section.index("```\n", section.index("for\nthe config above")) + len("```\n")
    expected = section[shown_start : section.index("```", shown_start)]
    explained = run_groupctl(groupctl, "validate", "--explain", "sales", cwd=tmp_path)
    assert explained.returncode == 0, explained.stderr
    assert explained.stdout == expected + "groups.yaml: valid (3 people, 2 teams, 1 group)\n"


def test_diff_shows_a_change_of_invite_link(tmp_path: Path) -> None:
    before = write(tmp_path, CONFIG, "before.yaml")
    after = write(
        tmp_path,
        CONFIG.replace("    min_admins: 1\n", "    min_admins: 1\n    invite_link: disabled\n"),
        "after.yaml",
    )
    changes = {c.key: c for c in diff(load(before), load(after)).groups}
    assert ("invite_link", None, "disabled") in changes["eng"].settings
