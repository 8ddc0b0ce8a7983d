"""The command line itself: start-up stays light (`groupctl --help` and `groupctl validate`
import none of the heavy libraries: the HTTP client, the web server, the picture library, the
YAML round-tripper...), the root's list of commands says what each command's own help says,
output is whole though the process skips its teardown, and exit codes never lie (a typo is 1,
not 2; every command's help says its exit status)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from reconciler.cli.root import COMMANDS, cli
from tests.support.processes import sim_serve

HEAVY = ("httpx", "uvicorn", "starlette", "PIL", "ruamel", "deepdiff", "rich")


def imported(
    groupctl: str, *args: str, cwd: Path
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run the installed groupctl with Python's import log on: what it ran, and the top-level
    packages it imported."""
    done = subprocess.run(
        [groupctl, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "PYTHONPROFILEIMPORTTIME": "1", "NO_COLOR": "1"},
    )
    packages = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and not line.endswith("imported package")
    }
    return done, packages


@pytest.mark.parametrize("args", [("--help",), ("validate",), ("validate", "--help")])
def test_help_and_validate_import_no_heavy_library(
    groupctl: str, tmp_path: Path, args: tuple[str, ...]
) -> None:
    (tmp_path / "groups.yaml").write_text(
        "version: 1\nsession: default\npeople:\n  ana: '+14155550100'\n"
        "groups:\n  team:\n    subject: Team\n    members: [ana]\n"
    )
    done, packages = imported(groupctl, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "click" in packages  # the import log is read
    assert sorted(packages & set(HEAVY)) == []


def test_a_config_with_pictures_imports_pillow_to_check_them(groupctl: str, example: Path) -> None:
    done, packages = imported(groupctl, "validate", cwd=example)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "PIL" in packages  # their size is read from their headers
    assert sorted(packages & (set(HEAVY) - {"PIL"})) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_list_of_commands_says_what_each_command_says(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    listed = click.Command(name, help=COMMANDS[name][1])
    assert listed.get_short_help_str(1000) == command.get_short_help_str(1000)


def test_output_to_a_file_is_whole_though_the_process_skips_its_teardown(
    groupctl: str, tmp_path: Path
) -> None:
    """groupctl ends with os._exit: a file, block-buffered, still gets every byte of what it
    printed, and the exit status is the command's, error or not."""
    out = tmp_path / "schema.json"
    with out.open("w") as handle:
        done = subprocess.run([groupctl, "schema"], stdout=handle, timeout=120)
    assert done.returncode == 0
    schema = json.loads(out.read_text())
    assert schema["type"] == "object"
    refused = subprocess.run(
        [groupctl, "validate", "-f", "missing.yaml"], cwd=tmp_path, capture_output=True
    )
    assert refused.returncode == 1


def _commands() -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for name in sorted(COMMANDS):
        command = cli.get_command(click.Context(cli), name)
        assert command is not None
        if isinstance(command, click.Group):
            found += [(name, sub) for sub in command.list_commands(click.Context(command))]
        else:
            found.append((name,))
    return found


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_a_typo_in_any_flag_exits_1_never_2(
    groupctl: str, tmp_path: Path, path: tuple[str, ...]
) -> None:
    """2 means "changes" under --detailed-exitcode: a typo must never read as drift."""
    done = subprocess.run(
        [groupctl, *path, "--no-such-flag"], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 1, done.stderr
    assert f"Usage: groupctl {' '.join(path)}" in done.stderr
    assert "error: No such option '--no-such-flag'" in done.stderr
    assert done.stdout == ""


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("plna", "No such command 'plna'. Did you mean 'plan'?"),  # not imported yet
        ("xyzzy", "No such command 'xyzzy'."),
    ],
)
def test_a_misspelled_command_exits_1_and_suggests_the_closest(
    groupctl: str, tmp_path: Path, typed: str, said: str
) -> None:
    done = subprocess.run([groupctl, typed], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("Usage: groupctl [OPTIONS] COMMAND [ARGS]...")
    assert done.stderr.endswith(f"error: {said}\n")


@pytest.mark.parametrize(
    ("command", "flag"), [("plan", "--color"), ("plan", "--no-color"), ("sim serve", "--color")]
)
def test_a_flag_of_groupctls_own_after_the_command_says_where_it_goes(
    groupctl: str, tmp_path: Path, command: str, flag: str
) -> None:
    done = subprocess.run(
        [groupctl, *command.split(), flag], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.endswith(
        f"error: No such option {flag!r} here: it is groupctl's own, and goes before the command"
        f" (groupctl {flag} ...)\n"
    )  # and no "did you mean" another flag of the command


def test_a_plan_file_that_is_not_there_is_said_plainly(groupctl: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [groupctl, "show", "gone.json"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr == "error: gone.json: cannot read the plan: No such file or directory\n"
    forged = subprocess.run(
        [groupctl, "show", "x\nerror: all good.json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert forged.stderr.splitlines() == [
        "error: x\\nerror: all good.json: cannot read the plan: No such file or directory"
    ]


@pytest.mark.parametrize("path", _commands(), ids=" ".join)
def test_every_command_says_its_exit_status_in_its_help(
    groupctl: str, path: tuple[str, ...]
) -> None:
    done = subprocess.run([groupctl, *path, "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert "Exit status: 0 " in done.stdout


@pytest.mark.parametrize("args", [(), ("sim",)], ids=["groupctl", "groupctl sim"])
def test_a_group_without_a_command_shows_its_help_and_exits_0(
    groupctl: str, args: tuple[str, ...]
) -> None:
    done = subprocess.run([groupctl, *args], capture_output=True, text=True)
    assert done.returncode == 0
    assert "Commands:" in done.stdout


def test_plan_against_titan_imports_no_server_nor_the_libraries_only_apply_needs(
    groupctl: str, example: Path
) -> None:
    """A plan over HTTP: no web server (the simulator's or watch's), no round-trip YAML (for
    --write-ids), no deepdiff (for a stale saved plan), and not httpx's own command line
    (rich's console, pygments: see cli/startup.py)."""
    with sim_serve(groupctl, example / "world.json", key="K") as served:
        done, packages = imported(
            groupctl, "plan", "--api", served.url, "--api-key", "K", cwd=example
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "httpx" in packages  # the import log is read
    unneeded = {"uvicorn", "starlette", "ruamel", "deepdiff", "pygments", "rich"}
    assert sorted(packages & unneeded) == []


def test_the_collector_waits_for_the_commands_modules_then_resumes_without_them() -> None:
    """cli/startup.py: paused from the console script's start until the command is found;
    then on, with what start-up made in the permanent generation."""
    probe = (
        "import gc, click\n"
        "from reconciler.cli import startup\n"
        "from reconciler.cli.root import cli\n"
        "@cli.command('probe')\n"
        "def probe():\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 0)\n"
        "startup.begin()\n"
        "print(gc.isenabled())\n"
        "cli.main(['probe'], standalone_mode=False)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "True", "True"]
