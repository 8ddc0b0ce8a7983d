"""Colors as the user asks: --color/--no-color first, then NO_COLOR, then FORCE_COLOR (CI logs
that render ANSI), else a terminal only. Through the installed CLI, its output piped."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from reconciler.cli.flags import choose_color, use_color
from tests.support.processes import run_groupctl

ESC = "\x1b["


@pytest.mark.parametrize(
    ("flags", "env", "colored"),
    [
        ((), {"NO_COLOR": ""}, False),  # a pipe, not a terminal
        ((), {"NO_COLOR": "", "FORCE_COLOR": "1"}, True),
        ((), {"NO_COLOR": "", "FORCE_COLOR": "0"}, False),
        ((), {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (("--color",), {"NO_COLOR": "1"}, True),
        (("--no-color",), {"NO_COLOR": "", "FORCE_COLOR": "1"}, False),
    ],
)
# run_groupctl sets NO_COLOR=1; "" unsets it for these.
def test_the_plan_is_colored_as_asked(
    groupctl: str, example: Path, flags: tuple[str, ...], env: dict[str, str], colored: bool
) -> None:
    done = run_groupctl(groupctl, *flags, "plan", "--api", "sim:world.json", cwd=example, env=env)
    assert done.returncode == 0, done.stderr
    assert "Plan: " in done.stdout
    assert (ESC in done.stdout) is colored


def test_the_config_diff_is_colored_as_asked(groupctl: str, example: Path) -> None:
    args = ("diff", "groups.yaml", "groups.yaml")
    forced = {"NO_COLOR": "", "FORCE_COLOR": "1"}
    assert ESC in run_groupctl(groupctl, *args, cwd=example, env=forced).stdout
    assert ESC not in run_groupctl(groupctl, "--no-color", *args, cwd=example, env=forced).stdout


class _Terminal:
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(("term", "colored"), [("xterm-256color", True), ("dumb", False)])
def test_a_terminal_that_shows_no_colors_gets_none(
    monkeypatch: pytest.MonkeyPatch, term: str, colored: bool
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", term)
    monkeypatch.setattr(sys, "stdout", _Terminal())
    choose_color(None)
    assert use_color() is colored
    monkeypatch.setenv("FORCE_COLOR", "1")  # asked for all the same: a CI log shows them
    assert use_color() is True


def test_the_diffs_file_names_cannot_move_the_cursor(groupctl: str, example: Path) -> None:
    forged = "x\rFAKE.yaml"
    shutil.copy(example / "groups.yaml", example / forged)
    done = run_groupctl(groupctl, "--color", "diff", "groups.yaml", forged, cwd=example)
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stdout
    assert "Config diff: groups.yaml -> x\\rFAKE.yaml" in done.stdout
