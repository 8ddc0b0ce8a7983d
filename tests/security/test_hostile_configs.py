"""A pull request is untrusted input: a hostile config is refused quickly, with bounded
state_file, and cannot make groupctl read or upload files from outside the config's directory.
Teams within teams cost work linear in the config, up to a budget past which the config is
refused (pictures: test_hostile_pictures.py)."""

from __future__ import annotations

import os
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image

from reconciler.config import load
from reconciler.config.teams import Budget
from reconciler.config.yamlfile import MAX_FILE_BYTES
from reconciler.errors import ConfigError

# Ten levels of ten aliases: 10^10 items if anything expanded them.
LAUGHS = "version: 1\nteams:\n  l0: &l0 [alice, alice, alice, alice, alice]\n" + "".join(
    f"  l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * 10)}]\n" for n in range(1, 10)
)
DEEP_FLOW = "version: 1\ngroups: " + "[" * 100_000 + "]" * 100_000 + "\n"
DEEP_BLOCK = (
    "version: 1\n" + "".join("  " * n + f"k{n}:\n" for n in range(500)) + "  " * 500 + "v\n"
)


def refused(tmp_path: Path, text: str) -> tuple[str, int]:
    """The problems of a config, and the peak memory (bytes) spent finding them."""
    path = tmp_path / "groups.yaml"
    path.write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as error:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return str(error.value), peak


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (LAUGHS, "YAML anchors and aliases (&name, *name) are not supported"),
        (DEEP_FLOW, "exceeded maximum nesting depth"),
        (DEEP_BLOCK, "nested more than 64 levels deep"),
    ],
    ids=["billion-laughs", "deep-flow", "deep-block"],
)
@pytest.mark.timeout(30)  # expanded, they would not finish at all
def test_bombs_are_refused_with_bounded_memory(tmp_path: Path, text: str, message: str) -> None:
    problems, peak = refused(tmp_path, text)
    assert message in problems
    assert peak < 32 * 1024 * 1024  # an expansion would take gigabytes


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch pwned']",
        "!!python/name:os.system",
        "!!python/object/new:subprocess.Popen [['touch', 'pwned']]",
        "!custom thing",
    ],
)
def test_language_specific_tags_are_refused_never_run(tmp_path: Path, tag: str) -> None:
    problems, _ = refused(
        tmp_path, f"version: 1\ngroups:\n  g: {{subject: G, description: {tag}}}\n"
    )
    assert "tag" in problems
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


@pytest.mark.parametrize(
    ("picture", "message"),
    [
        ("../../etc/passwd", "is outside the config's directory"),
        ("/etc/passwd", "is outside the config's directory"),
        ("pictures/../../outside.png", "is outside the config's directory"),
        ("link.png", "is outside the config's directory"),  # a symlink pointing out
        ("/dev/zero", "is outside the config's directory"),
        ("file:///etc/passwd", "must start with https://"),
        ("http://169.254.169.254/latest/meta-data", "must start with https://"),
    ],
)
def test_a_picture_cannot_read_files_outside_the_config(
    tmp_path: Path, picture: str, message: str
) -> None:
    config = tmp_path / "config"
    config.mkdir()
    outside = tmp_path / "outside.png"
    Image.new("RGB", (4, 4)).save(outside)
    (config / "link.png").symlink_to(outside)
    path = config / "groups.yaml"
    path.write_text(f"version: 1\ngroups:\n  g: {{subject: G, picture: '{picture}'}}\n")
    with pytest.raises(ConfigError, match=message):
        load(path)


def test_files_over_the_size_limit_are_refused_without_being_parsed(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    with path.open("w") as handle:
        handle.write("version: 1\npeople:\n")
        line = "  p{n}: '+1415555{n:04d}'\n"
        written = 0
        n = 0
        while written <= MAX_FILE_BYTES:
            text = line.format(n=n % 10_000)
            handle.write(text)
            written += len(text)
            n += 1
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="groupctl reads files up to"):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024  # refused from its size, never read


@pytest.mark.parametrize("command", [["validate"], ["diff", "groups.yaml", "groups.yaml"]])
def test_validate_and_diff_need_no_api_key_and_make_no_call(
    groupctl: str, tmp_path: Path, command: list[str]
) -> None:
    (tmp_path / "groups.yaml").write_text("version: 1\ngroups:\n  g: {subject: G}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))}
    # An API address that refuses every connection: any call would fail the command.
    env["TITAN_API_URL"] = "http://127.0.0.1:9"
    done = subprocess.run(
        [groupctl, *command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


# -- teams within teams ------------------------------------------------------------------------


def people(count: int) -> str:
    return "people:\n" + "".join(f"  p{n}: '+4420{10_000_000 + n:08d}'\n" for n in range(count))


def chain(length: int, *, people_count: int, reverse: bool = False) -> str:
    """Teams t1..tN, each the one before and one person more: tN stands for N people, and all
    of them for N^2/2 memberships. `reverse` defines tN first."""
    lines = ["  t0: [p0]\n"] + [
        f"  t{k}: [team:t{k - 1}, p{k % people_count}]\n" for k in range(1, length)
    ]
    return (
        "version: 1\n"
        + people(people_count)
        + "teams:\n"
        + "".join(lines[::-1] if reverse else lines)
    )


def diamonds(length: int) -> str:
    """Teams each listing the two before it, defined last first: a walk without memory of what
    it expanded visits 2^N teams, a recursive one needs N frames."""
    lines = ["  t0: [p0]\n", "  t1: [p1]\n"] + [
        f"  t{k}: [team:t{k - 1}, team:t{k - 2}, p{k % 10}]\n" for k in range(2, length)
    ]
    groups = f"groups:\n  g: {{subject: G, members: [team:t{length - 1}]}}\n"
    return "version: 1\n" + people(10) + "teams:\n" + "".join(reversed(lines)) + groups


@pytest.mark.timeout(60)  # expanding each team afresh at every mention would not finish
def test_teams_within_teams_cost_work_linear_in_the_config(tmp_path: Path) -> None:
    """Counted, not timed: the memberships expanded (the budget's spending) grow with the
    number of teams, and each team is expanded once, however many lists name it."""
    spent = []
    for length in (2_000, 4_000):
        path = tmp_path / f"teams{length}.yaml"
        path.write_text(diamonds(length))
        budget = Budget()
        state = load(path, budget=budget)
        assert len(state.groups[0].state.members) == 10
        spent.append(budget.spent)
    # Each team spends what the two before it stand for (10 people at most) and one more:
    # 2,000 teams more cost 21 memberships each, no more.
    assert spent[0] <= 21 * 2_000
    assert spent[1] - spent[0] <= 21 * 2_000


def test_expansion_past_the_budget_is_refused_naming_the_team_with_bounded_memory(
    tmp_path: Path,
) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(chain(2_000, people_count=1_000))  # some 1,500,000 memberships
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as error:
            load(path, budget=Budget(limit=100_000))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert str(error.value).endswith(
        "team 't446' takes the config past 100,000 memberships in all at 'team:t445':"
        " each team and group counts every member it stands for, teams within teams"
        " included; nest fewer teams, or list people directly"
    )
    assert peak < 24 * 1024 * 1024  # expanded, its sets would take some 60 MB


def test_teams_that_each_list_one_big_team_are_refused_once_at_the_first_past_the_budget(
    tmp_path: Path,
) -> None:
    """The wide shape (bench/nested_teams.py): a team of everyone, listed alone by thousands of
    teams. Each pays for everyone until the budget is spent; the first that cannot is the one
    problem, and the teams after it cost nothing more."""
    people = "".join(f"  p{n}: '+4420{10_000_000 + n:08d}'\n" for n in range(100))
    everyone = "[" + ", ".join(f"p{n}" for n in range(100)) + "]"
    teams = "".join(f"  t{k}: [team:everyone]\n" for k in range(50))
    path = tmp_path / "groups.yaml"
    path.write_text(
        f"version: 1\npeople:\n{people}teams:\n  everyone: {everyone}\n{teams}"
        "groups:\n  all:\n    subject: All\n    members: [team:t0]\n"
    )
    assert len(load(path).groups[0].state.members) == 100  # within the budget
    budget = Budget(limit=100 * 11 - 1)  # everyone, then t0 to t8; t9 is past it
    with pytest.raises(ConfigError) as error:
        load(path, budget=budget)
    assert [str(p).split(": ", 1)[1] for p in error.value.problems] == [
        "team 't9' takes the config past 1,099 memberships in all at 'team:everyone':"
        " each team and group counts every member it stands for, teams within teams"
        " included; nest fewer teams, or list people directly"
    ]
    assert str(error.value.problems[0]).startswith(f"{path}:{105 + 9}:8: ")  # t9's item
    assert budget.spent == 100 * 10


@pytest.mark.timeout(60)
def test_validate_refuses_a_config_of_squared_teams_without_a_traceback(
    groupctl: str, tmp_path: Path
) -> None:
    """The shape of the issue's 724 KB config: 20,000 teams of a growing chain, which would
    stand for some 90 million memberships. Defined last first, too: no walk of it recurses."""
    (tmp_path / "groups.yaml").write_text(chain(20_000, people_count=5_000, reverse=True))
    done = subprocess.run(
        [groupctl, "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "takes the config past 3,000,000 memberships in all" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.timeout(60)
def test_validate_follows_a_chain_of_teams_deeper_than_pythons_stack(
    groupctl: str, tmp_path: Path
) -> None:
    (tmp_path / "groups.yaml").write_text(chain(20_000, people_count=10, reverse=True))
    done = subprocess.run(
        [groupctl, "validate"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "valid (10 people, 20000 teams, 0 groups)" in done.stdout
