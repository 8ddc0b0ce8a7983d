"""A pull request is untrusted input: a hostile config is refused quickly, with bounded
state_file, and cannot make groupctl read or upload files from outside the config's directory."""

from __future__ import annotations

import os
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from PIL import Image

from reconciler.config import load
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
