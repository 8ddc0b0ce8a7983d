"""What a valid config means: people, teams and groups resolved to one normalized state."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from reconciler.config import load
from reconciler.config.model import config_schema
from reconciler.core.groups import LocalPicture, UrlPicture
from reconciler.core.invites import DEFAULT_INVITE_MESSAGE
from reconciler.core.jid import parse_jid
from reconciler.errors import ConfigError

ROOT = Path(__file__).parent.parent.parent
EXAMPLE = ROOT / "examples" / "groups.yaml"


def write(tmp_path: Path, text: str, name: str = "groups.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


FIVE_WAYS = """
version: 1
people:
  alice: "+1 415-555-0101"
defaults:
  country: US
groups:
  eng:
    subject: Engineering
    members: [alice]
    admins: ["14155550101@s.whatsapp.net"]
  ops:
    subject: Ops
    members: ["14155550101@c.us"]
  sales:
    subject: Sales
    members: ["(415) 555-0101"]
  support:
    subject: Support
    members: ["+1 415-555-0101"]
"""


def test_the_same_person_written_five_ways_is_one_member(tmp_path: Path) -> None:
    state = load(write(tmp_path, FIVE_WAYS))
    alice = parse_jid("+14155550101")
    eng, ops, sales, support = state.groups
    assert list(eng.state.members) == [alice]
    assert eng.state.members[alice].admin
    assert list(ops.state.members) == list(sales.state.members) == [alice]
    assert list(support.state.members) == [alice]
    assert state.directory[alice] == "alice"


UNQUOTED = """
version: 1
people:
  alice: +14155550101
  bob: 14155550102
defaults: {country: US}
groups:
  g: {subject: G, members: [alice, bob, +14155550103]}
"""


def test_unquoted_phone_numbers_stay_phone_numbers(tmp_path: Path) -> None:
    # YAML 1.1 reads +14155550101 as the integer 14155550101, losing the +.
    state = load(write(tmp_path, UNQUOTED))
    assert {str(j) for j in state.groups[0].state.members} == {
        "14155550101@s.whatsapp.net",
        "14155550102@s.whatsapp.net",
        "14155550103@s.whatsapp.net",
    }


def test_teams_nest_and_admins_need_not_be_listed_as_members(tmp_path: Path) -> None:
    state = load(
        write(
            tmp_path,
            """
version: 1
people:
  a: "+14155550101"
  b: "+14155550102"
  c: "+14155550103"
  hidden: {lid: "998877@lid"}
  both: {phone: "+14155550104", lid: "112233@lid"}
teams:
  inner: [a, hidden]
  outer: [team:inner, b, both]
groups:
  g:
    subject: G
    members: [team:outer]
    admins: [c]
    members_policy: additive
    protect: true
    limits: {max_removals: 3, max_removal_percent: 10}
""",
        )
    )
    group = state.groups[0]
    members = group.state.members
    assert set(members) == {
        parse_jid(x)
        for x in ("+14155550101", "+14155550102", "+14155550103", "998877@lid", "+14155550104")
    }
    assert group.state.admins == {parse_jid("+14155550103")}
    assert members[parse_jid("+14155550104")].lid == parse_jid("112233@lid")
    assert state.directory[parse_jid("112233@lid")] == "both"
    assert (group.policy.members_policy, group.policy.protect) == ("additive", True)
    assert (group.policy.max_removals, group.policy.max_removal_percent) == (3, 10)


def test_pictures_are_files_beside_the_config_or_https_urls(tmp_path: Path, png: bytes) -> None:
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "logo.png").write_bytes(png)
    state = load(
        write(
            tmp_path,
            """
version: 1
groups:
  a: {subject: A, picture: img/logo.png}
  b: {subject: B, picture: "https://example.com/logo.jpg"}
""",
        )
    )
    assert state.groups[0].state.picture == LocalPicture((tmp_path / "img" / "logo.png").resolve())
    assert state.groups[1].state.picture == UrlPicture("https://example.com/logo.jpg")


def test_a_symlink_that_leads_out_of_the_config_directory_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "logo.png").symlink_to("/etc/hostname")
    with pytest.raises(ConfigError, match="outside the config's directory"):
        load(write(config, "version: 1\ngroups:\n  a: {subject: A, picture: logo.png}\n"))


def test_a_picture_that_is_a_symlink_loop_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "logo.png").symlink_to("logo.png")
    path = write(tmp_path, "version: 1\ngroups:\n  g: {subject: G, picture: logo.png}\n")
    with pytest.raises(ConfigError) as refused:
        load(path)
    assert [str(p) for p in refused.value.problems] == [
        f"{path}:3:28: the picture file 'logo.png' is a symbolic link that leads back to"
        " itself: point it at an image file"
    ]


def test_a_picture_that_is_a_named_pipe_is_refused_unopened(groupctl: str, tmp_path: Path) -> None:
    # Opening a pipe waits for a writer: in a subprocess, so that a regression fails, not hangs.
    os.mkfifo(tmp_path / "logo.png")
    write(tmp_path, "version: 1\ngroups:\n  g: {subject: G, picture: logo.png}\n")
    done = subprocess.run(
        [groupctl, "validate"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert (done.returncode, done.stderr.splitlines()) == (
        1,
        [
            "groups.yaml:3:28: the picture file 'logo.png' is not a regular file (a pipe, a"
            " socket or a device): point picture: at an image file",
            "error: the config has 1 problem",
        ],
    )


def test_invite_by_message_and_its_message_come_from_the_group_else_from_defaults(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        """
version: 1
defaults:
  invite_by_message: true
  invite_message: "Welcome to {subject}: {link}"
groups:
  plain: {subject: Plain}
  own: {subject: Own, invite_message: "{link} ({subject})"}
  off: {subject: "Off", invite_by_message: false}
""",
    )
    messages = {g.key: g.policy.invite_message for g in load(path).groups}
    assert messages == {
        "plain": "Welcome to {subject}: {link}",
        "own": "{link} ({subject})",
        "off": None,
    }
    only = write(tmp_path, "version: 1\ngroups:\n  g: {subject: G, invite_by_message: true}\n")
    (group,) = load(only).groups
    assert group.policy.invite_message == DEFAULT_INVITE_MESSAGE
    silent = write(tmp_path, "version: 1\ngroups:\n  g: {subject: G}\n")
    assert load(silent).groups[0].policy.invite_message is None


def test_a_directory_of_files_is_merged(tmp_path: Path) -> None:
    write(
        tmp_path,
        "version: 1\ndefaults: {country: US}\npeople:\n  a: '(415) 555-0101'\n",
        "people.yaml",
    )
    write(tmp_path, "version: 1\nteams:\n  t: [a]\n", "teams/teams.yml")
    write(tmp_path, "version: 1\ngroups:\n  g: {subject: G, members: [team:t]}\n", "groups/g.yaml")
    state = load(tmp_path)
    assert (state.people, state.teams, len(state.groups)) == (1, 1, 1)
    assert list(state.groups[0].state.members) == [parse_jid("+14155550101")]


def test_a_key_defined_in_two_files_names_both_places(tmp_path: Path) -> None:
    first = write(tmp_path, "version: 1\nsession: a\ngroups:\n  g: {subject: G}\n", "a.yaml")
    second = write(tmp_path, "version: 1\nsession: b\ngroups:\n  g: {subject: H}\n", "b.yaml")
    with pytest.raises(ConfigError) as refused:
        load(tmp_path)
    assert [str(p) for p in refused.value.problems] == [
        f"{second}:2:1: session is already set at {first}:2:1",
        f"{second}:4:3: group 'g' is already defined at {first}:4:3",
    ]


def test_a_key_defined_in_two_files_is_reported_even_when_the_first_is_wrong(
    tmp_path: Path,
) -> None:
    first = write(
        tmp_path,
        "version: 1\nsession: [a]\npeople:\n  alice: [1]\nteams:\n  t: x\ngroups:\n  g: 5\n",
        "a.yaml",
    )
    second = write(
        tmp_path,
        "version: 1\nsession: b\npeople:\n  alice: '+14155550101'\nteams:\n  t: [alice]\n"
        "groups:\n  g: {subject: G}\n",
        "b.yaml",
    )
    with pytest.raises(ConfigError) as refused:
        load(tmp_path)
    assert [str(p) for p in refused.value.problems] == [
        f"{first}:2:10: session: expected text, not a list",
        f"{first}:4:10: person 'alice': expected a phone number, or a mapping with phone"
        " and/or lid, not a list",
        f"{first}:6:6: teams.t: expected a list, not text",
        f"{first}:8:6: group 'g': expected a mapping (subject, members...), not a number",
        f"{second}:2:1: session is already set at {first}:2:1",
        f"{second}:4:3: person 'alice' is already defined at {first}:4:3",
        f"{second}:6:3: team 't' is already defined at {first}:6:3",
        f"{second}:8:3: group 'g' is already defined at {first}:8:3",
    ]


def test_hidden_files_and_folders_of_a_config_directory_are_not_read(tmp_path: Path) -> None:
    write(tmp_path, "version: 1\ngroups:\n  g: {subject: G}\n", "groups.yaml")
    for hidden in (".github/workflows/ci.yml", ".hidden/groups.yaml", ".draft.yaml", "a/.b/c.yaml"):
        write(tmp_path, "on: push\n", hidden)
    assert [group.key for group in load(tmp_path).groups] == ["g"]


def test_entries_without_id_may_not_share_a_subject_whatever_they_ensure(tmp_path: Path) -> None:
    text = (
        "version: 1\ngroups:\n  launch: {subject: Launch}\n"
        "  old: {subject: Launch, ensure: absent}\n"
    )
    with pytest.raises(ConfigError, match="both have the subject 'Launch' and no id"):
        load(write(tmp_path, text))


def test_a_missing_config_says_how_to_give_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file: pass -f PATH"):
        load(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match=r"no \.yaml or \.yml files"):
        load(tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "a groupctl file is a mapping"),
        ("- 1\n- 2\n", "a groupctl file is a mapping"),
        (
            "version: 1\n" + "a:\n" + "".join("  " * n + f"k{n}:\n" for n in range(1, 80)),
            "nested more than 64 levels deep",
        ),
        ("version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n", "nest"),
        ("a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b]\n", "anchors and aliases"),
        (  # an alias as a key too, and one naming a value of a key refused as defined twice
            "version: 1\npeople:\n  &k alice: '+14155550101'\nteams:\n  *k : [alice]\n",
            "3:3: YAML anchors and aliases",
        ),
        ("version: 1\nteams:\n  a: [p]\n  a: &x [q]\n  b: *x\n", "4:6: YAML anchors and aliases"),
        ("version: 1\n---\nversion: 1\n", "expected a single document"),
        ("version: 1\n? [a, b]\n: c\n", "a key must be plain text"),
        ("version: 1\npeople: !!set {a: null}\n", "tag !!set is not allowed"),
    ],
)
def test_hostile_or_odd_yaml_is_a_config_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'version: 1\ngroups:\n  g: {subject: G, picture: "a\\0b.png"}\n',
            "is not a usable file name",
        ),
        (
            "version: 1\ngroups:\n  g: {subject: G, picture: " + "x" * 300 + ".png}\n",
            "is not a usable file name",
        ),
        ("version: 1\ngroups:\n  g: {subject: G, picture: img}\n", "'img' is a directory"),
        ("version: 1\npeople:\n  alice: true\n", "person 'alice': expected a phone number"),
        ("version: true\n", "version must be 1, not True"),
        ("version: 1.0\n", "version must be 1, not 1.0"),
    ],
)
def test_odd_values_are_config_errors_not_crashes(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "img").mkdir()
    with pytest.raises(ConfigError, match=message):
        load(write(tmp_path, text))


@pytest.mark.parametrize(
    ("teams", "hint"),
    [
        ("", "no teams are defined yet: add it under teams:"),
        (
            "teams: {a1: [], a2: [], a3: [], a4: [], a5: [], a6: [], a7: []}\n",
            "use one of a1, a2, a3, a4, a5 and 2 more, or define it under teams:",
        ),
    ],
    ids=["no teams", "many teams"],
)
def test_an_unknown_team_like_no_other_says_which_teams_there_are(
    tmp_path: Path, teams: str, hint: str
) -> None:
    path = write(tmp_path, f"version: 1\n{teams}groups:\n  g: {{subject: G, members: [team:qq]}}\n")
    with pytest.raises(ConfigError) as refused:
        load(path)
    line = 4 if teams else 3
    assert [str(p) for p in refused.value.problems] == [
        f"{path}:{line}:29: unknown team 'qq': {hint}"
    ]


def test_names_may_contain_digits(tmp_path: Path) -> None:
    state = load(
        write(
            tmp_path,
            "version: 1\npeople:\n  dev2: '+14155550101'\n"
            "teams:\n  team2: [dev2]\n"
            "groups:\n  g: {subject: G, members: [dev2, team:team2]}\n",
        )
    )
    assert list(state.groups[0].state.members) == [parse_jid("+14155550101")]


def test_files_over_the_size_limit_are_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w") as handle:
        handle.truncate(6 * 1024 * 1024)
    with pytest.raises(ConfigError, match="groupctl reads files up to"):
        load(path)


def test_the_example_is_valid_and_uses_every_feature() -> None:
    state = load(EXAMPLE)
    policies = {g.key: g.policy for g in state.groups}
    assert any(p.protect for p in policies.values())
    assert any(p.members_policy == "additive" for p in policies.values())
    assert any(p.ensure == "absent" for p in policies.values())
    assert any(p.max_removal_percent is not None for p in policies.values())
    assert any(p.max_removals is not None for p in policies.values())
    assert any(p.absent_action == "delete" for p in policies.values())
    assert '"14155550121@c.us"' in EXAMPLE.read_text()  # a raw JID among the members
    kai = next(j for j, name in state.directory.items() if name == "kai" and j.is_phone)
    assert any(
        m.lid is not None for g in state.groups for j, m in g.state.members.items() if j == kai
    )
    assert any(g.id is not None for g in state.groups)
    assert any(isinstance(g.state.picture, LocalPicture) for g in state.groups)
    assert any(jid.is_lid for g in state.groups for jid in g.state.members)


def test_the_schema_validates_the_example_and_is_committed() -> None:
    schema = config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(
        yaml.safe_load(EXAMPLE.read_text()), schema, cls=jsonschema.Draft202012Validator
    )
    committed = json.loads((ROOT / "groupctl.schema.json").read_text())
    assert committed == schema, "regenerate: groupctl schema > groupctl.schema.json"


def test_the_schema_catches_what_editors_should_flag() -> None:
    validator = jsonschema.Draft202012Validator(config_schema())
    bad = {"version": 1, "groups": {"g": {"subject": "x" * 26, "member": []}}}
    messages = sorted(error.message for error in validator.iter_errors(bad))
    assert any("too long" in m for m in messages)
    assert any("'member' was unexpected" in m for m in messages)


def test_the_readme_config_example_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```yaml\n") + len("```yaml\n")
    (tmp_path / "pictures").mkdir()
    shutil.copy(
        ROOT / "examples" / "pictures" / "announcements.png", tmp_path / "pictures" / "logo.png"
    )
    state = load(write(tmp_path, readme[start : readme.index("```", start)]))
    assert [g.key for g in state.groups] == ["announcements", "sales-emea", "old-launch"]


def test_validate_and_schema_commands(groupctl: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [groupctl, "validate", "-f", str(EXAMPLE)], capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (
        0,
        f"{EXAMPLE}: valid (13 people, 5 teams, 6 groups)\n",
    )
    bad = write(tmp_path, "version: 1\ngroups:\n  g: {subject: '', members: [nobody]}\n")
    done = subprocess.run(
        [groupctl, "validate"], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "groups.yaml:3:16: the subject is empty: WhatsApp needs a name",
        "groups.yaml:3:30: unknown person 'nobody': add them under people:,"
        " or write their phone number",
        "error: the config has 2 problems",
    ]
    env_done = subprocess.run(
        [groupctl, "validate"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"GROUPCTL_CONFIG": str(bad), "PATH": ""},
    )
    assert env_done.returncode == 1
    schema = subprocess.run([groupctl, "schema"], capture_output=True, text=True, timeout=60)
    assert json.loads(schema.stdout) == config_schema()


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\ngroups:\n\tteam:\n    subject: T\n", "3:1"),
        ("version: 1\ngroups:\n  team:\n\tsubject: T\n", "4:1"),
    ],
)
def test_a_tab_that_indents_is_named_as_such_at_its_place(
    tmp_path: Path, text: str, where: str
) -> None:
    (tmp_path / "groups.yaml").write_text(text)
    with pytest.raises(ConfigError) as refused:
        load(tmp_path / "groups.yaml")
    (problem,) = refused.value.problems
    assert f"{problem.location.line}:{problem.location.column}" == where
    assert (
        problem.message == "YAML syntax: a tab cannot indent YAML (nor start a value): use spaces"
    )


def test_a_value_refused_while_parsing_is_reported_once_not_again_as_missing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text("version: 1\ngroups:\n  g: {subject: !custom G}\n")
    with pytest.raises(ConfigError) as failed:
        load(path)
    assert [str(problem) for problem in failed.value.problems] == [
        f"{path}:3:16: the YAML tag !custom is not allowed in a groupctl file"
    ]  # and not "group 'g' needs subject" after it
