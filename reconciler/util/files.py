"""Files, safely: writes that a crash leaves old or new, never half of either; reads and
writes confined to a directory and to regular files of a bounded size."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path


def replace_atomically(path: Path, data: bytes) -> None:
    """Write `data` to a temporary file beside `path`, flush it to disk, rename it over `path`,
    then flush the directory too (or a crash could bring the old file back). Raises OSError.

    The file keeps what a plain write would keep: a symlink's target is replaced (not the
    link), an existing file keeps its permissions, and a new one gets the usual umask."""
    path = Path(os.path.realpath(path))
    directory = path.parent
    temporary = directory / f".{path.name}.{secrets.token_hex(6)}"
    # Created as open() would create it (the umask applies), unlike mkstemp's 0600.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.fchmod(fd, stat.S_IMODE(path.stat().st_mode))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    with contextlib.suppress(OSError):
        directory_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


class NotConfinedError(OSError):
    """A file groupctl will not read or write: outside its directory, or not a regular file.
    An OSError, so callers that report unreadable files report this one the same way."""


def inside(path: Path, root: Path) -> Path:
    """`path` with symlinks followed, if that is inside `root` (itself resolved); else
    NotConfinedError. A config's files, its state file and the files --write-ids edits must
    not lead out of the config's directory: a pull request could point one at /etc."""
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    if not real.is_relative_to(top):
        raise NotConfinedError(f"it leads out of {top} (to {real})")
    return real


def read_regular(path: Path, *, limit: int) -> bytes:
    """The bytes of `path`, which must be a regular file of at most `limit` bytes: a FIFO
    would block for ever and /dev/zero never ends, so neither is read. Raises OSError."""
    return read_regular_with_stat(path, limit=limit)[1]


def read_regular_with_stat(path: Path, *, limit: int) -> tuple[os.stat_result, bytes]:
    """`read_regular`, with the file's status as it was when read (for telling versions of
    a file apart)."""
    # O_NONBLOCK: opening a FIFO with no writer must not hang before fstat can refuse it.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotConfinedError("it is not a regular file")
        if info.st_size > limit:
            raise NotConfinedError(f"it is {info.st_size:,} bytes; groupctl reads up to {limit:,}")
        data = handle.read(limit + 1)
    if len(data) > limit:  # it grew while being read
        raise NotConfinedError(f"it is over {limit:,} bytes; groupctl reads up to {limit:,}")
    return info, data


def check_regular_or_absent(path: Path) -> None:
    """Before writing `path`: it is absent, or a regular file (not a FIFO, a device or a
    directory). Raises OSError."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(info.st_mode):
        raise NotConfinedError("it is not a regular file")


def check_writable(path: Path, root: Path) -> None:
    """Before a run's first change: `path` can be written as `replace_atomically` writes it.
    It is inside `root`, absent or a regular file, and its directory takes a new file (one
    is made and removed: permissions, a read-only mount and ACLs all show). Raises OSError."""
    real = inside(path, root)
    check_regular_or_absent(real)
    probe = real.parent / f".{real.name}.{secrets.token_hex(6)}"
    os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    os.unlink(probe)
