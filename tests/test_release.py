"""Releases: a tag makes the version, the built files pass PyPI's checks, and the Action
installs the release its tag names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
TAG = "v9.8.7"


def _run(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def _tracked_files() -> list[str]:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the version of a release comes from its git tag")
    return _run("git", "ls-files", "-z", cwd=ROOT).strip("\0").split("\0")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's tracked files in a repository of their own, tagged TAG, built as the
    release workflow builds them (the sdist, then the wheel from the sdist): the `dist/`."""
    base = tmp_path_factory.mktemp("release")
    repo = base / "repo"
    for name in _tracked_files():
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree is not released
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            (repo / name).write_bytes(source.read_bytes())
    git = (
        *("git", "-c", "user.name=release", "-c", "user.email=release@example.invalid"),
        *("-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"),
    )
    _run(*git, "init", "--quiet", cwd=repo)
    _run(*git, "add", "--all", cwd=repo)
    _run(*git, "commit", "--quiet", "--no-verify", "-m", "release", cwd=repo)
    _run(*git, "tag", TAG, cwd=repo)
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", base / "dist", repo)
    return base / "dist"


@pytest.mark.slow
def test_the_wheel_built_from_a_tag_reports_that_version(released: Path, tmp_path: Path) -> None:
    wheels = sorted(released.glob("*.whl"))
    assert [wheel.name for wheel in wheels] == [f"groupctl-{TAG[1:]}-py3-none-any.whl"]
    target = tmp_path / "installed"
    pip = (sys.executable, "-m", "pip", "install", "--quiet", "--no-deps")
    _run(*pip, "--target", target, *wheels)
    # The wheel's package comes first on the path, before the checkout's editable install.
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = _run(
        sys.executable, "-c", "import reconciler; print(reconciler.__file__)", env=env, cwd=tmp_path
    )
    assert Path(where.strip()).is_relative_to(target)
    said = _run(sys.executable, target / "bin" / "groupctl", "--version", env=env, cwd=tmp_path)
    assert said.strip() == f"groupctl, version {TAG[1:]}"


def test_the_sdist_and_the_wheel_pass_pypis_checks(released: Path) -> None:
    files = sorted(released.iterdir())
    assert {file.suffix for file in files} == {".gz", ".whl"}
    said = _run(sys.executable, "-m", "twine", "check", "--strict", *files)
    assert said.count("PASSED") == 2, said


def _fake_python(directory: Path, log: Path) -> Path:
    """A python3 for install.sh that makes a venv whose python records what pip was asked
    to install, and whose groupctl answers --version: the script's choices, without PyPI."""
    fake = directory / "python3"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'if [ "$1 $2" = "-m venv" ]; then\n'
        '  mkdir -p "$3/bin"\n'
        f'  printf \'#!/usr/bin/env bash\\necho "$*" >> {log}\\n\' > "$3/bin/python"\n'
        "  printf '#!/usr/bin/env bash\\necho groupctl, version 0\\n' > \"$3/bin/groupctl\"\n"
        '  chmod +x "$3/bin/python" "$3/bin/groupctl"\n'
        "else exit 9; fi\n"
    )
    fake.chmod(0o755)
    return fake


def _install(
    tmp_path: Path, folder: str | None = "main", **env: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """install.sh as the runner runs it: from _actions/OWNER/REPO/`folder` (the ref the
    workflow used), or, with `folder=None`, from a checkout (a local `uses: ./`)."""
    log = tmp_path / "pip.log"
    if folder is None:
        action = tmp_path / "checkout"
    else:
        action = tmp_path / "_actions" / "your-org" / "groupctl" / folder
    action.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["bash", str(ROOT / "action" / "install.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        env={
            "PATH": os.environ["PATH"],
            "GROUPCTL_PYTHON": str(_fake_python(tmp_path, log)),
            "GITHUB_ACTION_PATH": str(action),
            "RUNNER_TEMP": str(tmp_path),
            "GITHUB_PATH": str(tmp_path / "github_path"),
            **env,
        },
        check=False,
    )
    asked = log.read_text().split()[-1] if log.exists() else ""
    return done, asked


@pytest.mark.parametrize(
    ("folder", "env", "installed"),
    [
        ("v1.2.0", {}, "groupctl==1.2.0"),
        ("v1.2.0rc1", {}, "groupctl==1.2.0rc1"),
        # Inside another composite action, github.action_ref names the outer action's ref.
        ("v2.0.1", {"GROUPCTL_ACTION_REF": "v9.9.9"}, "groupctl==2.0.1"),
        (None, {"GROUPCTL_ACTION_REF": "v3.1.4"}, "groupctl==3.1.4"),
        ("v1", {"GROUPCTL_VERSION": "1.4.2"}, "groupctl==1.4.2"),
        ("v1.2.0", {"GROUPCTL_INSTALL": "./here"}, "./here"),
    ],
)
def test_the_action_installs_the_release_its_tag_or_version_names(
    tmp_path: Path, folder: str | None, env: dict[str, str], installed: str
) -> None:
    done, asked = _install(tmp_path, folder, **env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert asked == installed
    assert "::notice::" not in done.stdout


@pytest.mark.parametrize("ref", ["main", "v1", "0123456789abcdef0123456789abcdef01234567"])
def test_the_action_at_any_other_ref_installs_its_own_files_and_says_so(
    tmp_path: Path, ref: str
) -> None:
    done, asked = _install(tmp_path, ref, GROUPCTL_ACTION_REF=ref)
    assert done.returncode == 0, done.stdout + done.stderr
    assert asked == str(tmp_path / "_actions" / "your-org" / "groupctl" / ref)
    assert "::notice::groupctl action not at a release tag" in done.stdout


def test_the_action_refuses_a_version_that_is_no_release_without_echoing_it(
    tmp_path: Path,
) -> None:
    done, asked = _install(tmp_path, GROUPCTL_VERSION="1.2\n::add-mask::x; rm -rf /")
    assert done.returncode == 1
    assert asked == ""
    assert "::error::groupctl action: version must be a release such as 1.2.0" in done.stdout
    assert "add-mask" not in done.stdout


def test_a_job_that_uses_the_action_twice_installs_it_once(tmp_path: Path) -> None:
    first, asked = _install(tmp_path, "v1.2.0")
    assert first.returncode == 0, first.stdout + first.stderr
    assert asked == "groupctl==1.2.0"
    again, _ = _install(tmp_path, "v1.2.0")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already installed in this job: groupctl==1.2.0" in again.stdout
    assert (tmp_path / "pip.log").read_text().count("install") == 1  # pip ran once
    # Another release asked for later in the job replaces it.
    third, asked = _install(tmp_path, "v1.2.0", GROUPCTL_VERSION="1.3.0")
    assert third.returncode == 0, third.stdout + third.stderr
    assert asked == "groupctl==1.3.0"
