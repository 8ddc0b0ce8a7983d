"""One process at a time: an exclusive lock on a file, held across processes.

`flock(2)` on a file beside what it protects. The kernel releases the lock when its process
ends, however it ends (a crash, SIGKILL, a cancelled CI job), so no lock is ever left behind to
be cleared by hand. The holder writes who it is into the file, so that a process that waits, or
gives up, can say what it waits for. The file is removed on release; a process that got the
lock of a file removed meanwhile tries again on the new one (otherwise two processes could each
hold a lock, on two different files).

Not the `filelock` package: its fallbacks (soft locks a crash leaves behind, Windows) are more
than this needs, and it cannot say who holds a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import socket
import stat
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

from reconciler.errors import FileAccessError, RunLockedError
from reconciler.util.untrusted import one_line

# How often a waiting process tries again. A lock is held for a whole run (seconds to
# minutes): a fifth of a second more wait is nothing, and a try costs a few system calls.
POLL_INTERVAL = 0.2
_MAX_HOLDER = 512  # bytes of the holder's description that are read


class FileLock:
    """The lock of `path`, taken as `holder` (what the file says while it is held: e.g.
    `groupctl apply`). Use `async with lock.held(wait):`."""

    def __init__(
        self,
        path: Path,
        *,
        holder: str,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._holder = holder
        self._sleep = sleep
        self._clock = clock
        self._fd: int | None = None

    @contextlib.asynccontextmanager
    async def held(
        self, wait: float, *, on_wait: Callable[[str], None] | None = None
    ) -> AsyncIterator[None]:
        """Hold the lock for the block: waited for up to `wait` seconds (0: not at all), else
        RunLockedError naming the holder. `on_wait` hears the holder once, when a wait
        begins."""
        await self.acquire(wait, on_wait=on_wait)
        try:
            yield
        finally:
            self.release()

    async def acquire(self, wait: float, *, on_wait: Callable[[str], None] | None = None) -> None:
        """Take the lock (see `held`)."""
        deadline = self._clock() + wait
        told = False
        while (holder := self.try_acquire()) is not None:
            left = deadline - self._clock()
            if left <= 0:
                raise RunLockedError(self.path, holder, waited=wait)
            if on_wait is not None and not told:
                on_wait(holder)
                told = True
            await self._sleep(min(POLL_INTERVAL, left))

    def try_acquire(self) -> str | None:
        """Take the lock if it is free: None when taken, else who holds it."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already locked by this process")
        while True:
            fd = self._open()
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                # Written by another process: shown on one line, whatever it holds.
                holder = one_line(os.pread(fd, _MAX_HOLDER, 0).decode(errors="replace").strip())
                os.close(fd)
                return holder or "another process"
            if self._is_current(fd):
                break
            os.close(fd)  # released and removed while we waited for it: lock the new file
        since = datetime.now(UTC).isoformat(timespec="seconds")
        about = f"{self._holder} (pid {os.getpid()} on {socket.gethostname()}, since {since})"
        os.ftruncate(fd, 0)
        os.pwrite(fd, about.encode(), 0)
        self._fd = fd
        return None

    def release(self) -> None:
        """Remove the file and let the lock go (a no-op when it is not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if self._is_current(fd):  # removed while held, so nobody can hold this name
                # A lock file left behind (its directory read-only) only costs its name.
                with contextlib.suppress(OSError):
                    self.path.unlink()
        finally:
            os.close(fd)  # the kernel lets the lock go with the last descriptor

    def _open(self) -> int:
        # O_NOFOLLOW: a symlink put in the lock's place must not make it write elsewhere.
        # O_NONBLOCK: a FIFO there must not hang the run. O_CLOEXEC: no child inherits it.
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags, 0o666)
        except OSError as exc:
            raise FileAccessError(
                f"{self.path}: cannot create the lock that keeps two runs apart: {exc.strerror}"
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileAccessError(f"{self.path}: the lock must be a regular file; remove it")
        return fd

    def _is_current(self, fd: int) -> bool:
        """Whether `fd` is still the file at `path` (not removed, nor replaced)."""
        try:
            return os.path.samestat(os.fstat(fd), os.stat(self.path, follow_symlinks=False))
        except FileNotFoundError:
            return False
