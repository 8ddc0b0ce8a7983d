"""A config as it was at a git revision, for `groupctl diff --base REV`: its directory is
extracted from git into a temporary directory, pictures and all, and loaded from there."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from PIL import Image

from reconciler.config import load
from reconciler.config.workspace import Workspace
from reconciler.core.groups import DesiredState
from reconciler.errors import ConfigError, FileAccessError, Problem, SettingsError, UsageError

# The files of a config: YAML, and the pictures it may name (any format Pillow reads).
_NEEDED = frozenset({".yaml", ".yml", *Image.registered_extensions()})
# A config directory bigger than this at a revision is not what groupctl reads.
MAX_ARCHIVE_BYTES = 64 * 1024 * 1024


@contextmanager
def loaded_at(rev: str, config: Path) -> Iterator[DesiredState]:
    """The config at `config` (a file or directory of the working tree) as it was at `rev`;
    an empty config if it did not exist then. Its files (pictures) exist until the context
    ends. Problems name their place as `REV:path:line`."""
    if rev.startswith("-"):
        raise UsageError(f"{rev!r} is not a git revision (it would be read as an option)")
    with _extracted(rev, config) as (extracted, directory):
        if extracted is None:
            yield DesiredState(groups=())
            return
        try:
            state = load(extracted, pictures=False)  # a diff compares what it says
        except ConfigError as exc:
            raise ConfigError(
                [_renamed(problem, directory + os.sep, f"{rev}:") for problem in exc.problems]
            ) from None
        yield state


def _renamed(problem: Problem, prefix: str, shown: str) -> Problem:
    file, via = problem.location.file, problem.location.via
    if file.startswith(prefix):
        file = shown + file[len(prefix) :]
    via = via.replace(f" at {prefix}", f" at {shown}")  # the group's place, in the same tree
    return replace(problem, location=replace(problem.location, file=file, via=via))


@contextmanager
def _extracted(rev: str, config: Path) -> Iterator[tuple[Path | None, str]]:
    """(the config extracted, the directory it is in: the repository's top) or (None, "")."""
    root = Workspace.of(config).root
    top = Path(_git(root, "rev-parse", "--show-toplevel").strip())
    commit = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", what=rev).strip()
    inside = Path(os.path.relpath(root.resolve(), top.resolve()))
    wanted = inside if config.is_dir() else inside / config.name
    if _run(top, "cat-file", "-e", f"{commit}:{wanted.as_posix()}").returncode != 0:
        yield None, ""
        return
    listed = _git(top, "ls-tree", "-r", "-z", "--name-only", commit, "--", inside.as_posix())
    # Only what a config can be made of: its YAML files and pictures, not the whole repository
    # around a groups.yaml at its top.
    needed = [name for name in listed.split("\0") if Path(name).suffix.lower() in _NEEDED]
    archive = _git_bytes(top, "archive", "--format=tar", commit, "--", *needed)
    with tempfile.TemporaryDirectory(prefix="groupctl-base-") as directory:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            # Vetted twice: by _plain, and by tarfile's own "data" filter.
            tar.extractall(directory, members=_plain(tar), filter="data")
        yield Path(directory) / wanted, directory


def _plain(tar: tarfile.TarFile) -> list[tarfile.TarInfo]:
    """The regular files and directories of an archive, under relative paths: links, devices
    and anything else are left out (a picture that is a link is then missing at that
    revision, and said so)."""
    return [
        member
        for member in tar.getmembers()
        if (member.isfile() or member.isdir())
        and not Path(member.name).is_absolute()
        and ".." not in Path(member.name).parts
    ]


def _git(where: Path, *args: str, what: str | None = None) -> str:
    return _git_bytes(where, *args, what=what).decode()


def _git_bytes(where: Path, *args: str, what: str | None = None) -> bytes:
    done = _run(where, *args)
    if done.returncode != 0:
        if what is not None:
            raise UsageError(f"{what!r} is not a git revision here (a commit, branch or tag)")
        message = done.stderr.decode(errors="replace").strip().splitlines()
        raise SettingsError(f"git {args[0]} failed in {where}: {message[-1] if message else ''}")
    if len(done.stdout) > MAX_ARCHIVE_BYTES:
        raise FileAccessError(
            f"the config's directory is over {MAX_ARCHIVE_BYTES >> 20} MiB in git"
        )
    return done.stdout


def _run(where: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    git = shutil.which("git")
    if git is None:
        raise SettingsError("--base needs git, and git is not installed here")
    try:
        # An argument list, no shell; load_at refuses a revision that git would read as an
        # option.
        return subprocess.run(  # noqa: S603
            [git, "-C", str(where), *args], capture_output=True, check=False, timeout=120
        )
    except subprocess.TimeoutExpired:
        raise SettingsError(f"git {args[0]} took too long") from None
