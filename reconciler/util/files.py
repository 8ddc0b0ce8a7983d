"""Writing files so that a crash leaves the old one or the new one, never half of either."""

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
