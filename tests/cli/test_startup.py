"""Start-up stays light: `groupctl --help` and `groupctl validate` import none of the heavy
libraries (the HTTP client, the web server, the picture library, the YAML round-tripper...),
and the root's list of commands says what each command's own help says."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import click
import pytest

from reconciler.cli.root import COMMANDS, cli

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
    """groupctl ends with os._exit once its output is flushed: a file, block-buffered,
    still gets every byte, and the exit status is the command's."""
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
