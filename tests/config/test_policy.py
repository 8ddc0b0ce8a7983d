"""policy: rules the config keeps: `groupctl check` without the API, and plan refusing a group
that breaks one, or a plan that would remove someone never to be removed."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.config import load
from reconciler.errors import ConfigError
from tests.cli.test_plan import world
from tests.support.processes import run_groupctl

CONFIG = """version: 1
people:
  maria: "+1 415 555 0101"
  james: "+1 415 555 0102"
  noah: "+1 415 555 0108"
teams:
  leadership: [maria, james]
policy:
  - rule: protected
    groups: [announcements]
    why: the whole company reads it
  - rule: never_remove
    people: [maria]
  - rule: max_size
    size: 3
    groups: [announcements]
  - rule: admins_from_team
    team: leadership
groups:
  announcements:
    subject: Announcements
    protect: true
    members: [maria, james, noah]
    admins: [maria]
  team:
    subject: Team
    members: [maria, james]
    admins: [james]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "groups.yaml"
    path.write_text(text)
    return path


def breaches(tmp_path: Path, text: str) -> dict[str, tuple[str, ...]]:
    return {g.key: g.broken_rules for g in load(write(tmp_path, text)).groups if g.broken_rules}


def test_a_config_that_keeps_every_rule_has_no_breach(tmp_path: Path) -> None:
    assert breaches(tmp_path, CONFIG) == {}


@pytest.mark.parametrize(
    ("change", "key", "said"),
    [
        (("    protect: true\n", ""), "announcements", "it must be protect: true"),
        (
            ("members: [maria, james, noah]", "members: [maria, james, noah, '+1 415 555 0109']"),
            "announcements",
            "it lists 4 members, more than 3 (max_size)",
        ),
        (
            (
                "    members: [maria, james]\n    admins: [james]\n",
                "    members: [maria, james, noah]\n    admins: [james, noah]\n",
            ),
            "team",
            "noah is an admin and not in team leadership (admins_from_team)",
        ),
        (
            ("    members: [maria, james]\n", "    members: [james]\n"),
            "team",
            "it must keep maria (never_remove), and does not list them",
        ),
    ],
)
def test_each_kind_of_rule_is_broken_at_its_group_naming_the_rule(
    tmp_path: Path, change: tuple[str, str], key: str, said: str
) -> None:
    assert change[0] in CONFIG
    found = breaches(tmp_path, CONFIG.replace(*change))
    assert list(found) == [key]
    (breach,) = found[key]
    assert breach.startswith(f"{said}: policy rule at ")


def test_a_rule_that_names_what_does_not_exist_is_a_config_error(tmp_path: Path) -> None:
    wrong = CONFIG.replace("groups: [announcements]\n    why", "groups: [nope]\n    why").replace(
        "team: leadership", "team: leaders"
    )
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, wrong))
    said = str(caught.value)
    assert "no group 'nope' in the config" in said
    assert "unknown team 'leaders'" in said
    with pytest.raises(ConfigError, match="rule max_size needs size:"):
        load(write(tmp_path, CONFIG.replace("    size: 3\n", "")))


def test_check_fails_a_pull_request_that_breaks_a_rule_without_an_api_key(
    groupctl: str, tmp_path: Path
) -> None:
    write(tmp_path, CONFIG)
    kept = run_groupctl(groupctl, "check", cwd=tmp_path)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    write(tmp_path, CONFIG.replace("    protect: true\n", ""))
    broken = run_groupctl(groupctl, "check", cwd=tmp_path)
    assert broken.returncode == 1
    assert broken.stdout.startswith(
        "groups.yaml:20:3: group 'announcements': it must be protect: true: policy rule at"
        " groups.yaml:9:5 (the whole company reads it)"
    )
    assert "error: the config breaks its policy: 1 breach" in broken.stderr


def test_plan_refuses_a_group_that_breaks_a_rule_and_a_removal_of_someone_kept(
    groupctl: str, tmp_path: Path
) -> None:
    """The live Team has maria, james and noah: a config dropping noah plans his removal; one
    dropping maria breaks never_remove and is refused."""
    world(tmp_path, {"+14155550101": "member", "+14155550102": "admin", "+14155550108": "member"})
    write(tmp_path, CONFIG)
    allowed = run_groupctl(groupctl, "plan", "--api", "sim:world.json", cwd=tmp_path)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "- member       noah" in allowed.stdout
    write(tmp_path, CONFIG.replace("members: [maria, james]", "members: [james]"))
    refused = run_groupctl(groupctl, "plan", "--api", "sim:world.json", cwd=tmp_path)
    assert refused.returncode == 1
    assert "policy: it must keep maria (never_remove)" in refused.stdout
    assert "- member       maria" not in refused.stdout


def test_diff_shows_a_rule_dropped_as_destructive_and_check_runs_on_it(
    groupctl: str, tmp_path: Path
) -> None:
    (tmp_path / "before.yaml").write_text(CONFIG)
    weaker = CONFIG.replace("  - rule: never_remove\n    people: [maria]\n", "")
    (tmp_path / "after.yaml").write_text(weaker)
    shown = run_groupctl(
        groupctl, "diff", "before.yaml", "after.yaml", "--detailed-exitcode", cwd=tmp_path
    )
    assert shown.returncode == 3, shown.stdout + shown.stderr
    assert '- policy rule {"people": ["maria"], "rule": "never_remove"}' in shown.stdout
    assert "1 policy rule removed" in shown.stdout
    markdown = run_groupctl(
        groupctl, "diff", "before.yaml", "after.yaml", "--format", "markdown", cwd=tmp_path
    )
    assert "**Policy rules**" in markdown.stdout


def test_never_remove_holds_against_deleting_the_group(tmp_path: Path) -> None:
    deleted = CONFIG.replace(
        "    subject: Team\n", "    subject: Team\n    ensure: absent\n    absent_action: delete\n"
    ).replace("    members: [maria, james]\n    admins: [james]\n", "")
    found = breaches(tmp_path, deleted)
    assert list(found) == ["team"]
    assert found["team"][0].startswith(
        "it is to be deleted, and may never lose maria (never_remove)"
    )


def test_an_unknown_team_is_one_problem_and_a_broken_group_no_second(tmp_path: Path) -> None:
    wrong = (
        CONFIG.replace("team: leadership", "team: leaders")
        .replace("    subject: Team\n", '    subject: ""\n')
        .replace("groups: [announcements]\n    why", "groups: [team]\n    why")
    )
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, wrong))
    said = [str(problem) for problem in caught.value.problems]
    assert sum("unknown team 'leaders'" in line for line in said) == 1
    assert not any("no group 'team'" in line for line in said), said
