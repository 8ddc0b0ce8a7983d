"""The world file on disk: loaded at start, saved atomically after every change.

Saving writes a temporary file beside the world file, fsyncs it and renames it over the old
one, so a process killed at any moment leaves either the old world or the new one, never half.
A change holds an exclusive lock on the file's directory (flock, so no lock file is left
behind) and first reloads the file if another process (another `sim:PATH` client, or
`groupctl sim serve`) changed it, so several processes can share one world file.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pydantic

from reconciler.errors import FileAccessError
from reconciler.sim.state import WorldState, default_world
from reconciler.sim.world import World
from reconciler.util.files import replace_atomically

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: one process per world file
    fcntl = None  # type: ignore[assignment]

_Stamp = tuple[int, int, int]


class WorldStore:
    """A `World` kept in a file. Read with `world()`, change inside `with store.change():`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._world: World | None = None
        self._stamp: _Stamp | None = None

    @classmethod
    def open(cls, path: Path | str, *, create: bool = True) -> WorldStore:
        """Load the world at `path`; with `create`, a missing file becomes the default world."""
        store = cls(Path(path))
        if not store.path.exists():
            if not create:
                raise FileAccessError(f"{store.path}: no such world file")
            with store._locked():
                if not store.path.exists():
                    store._world = World(default_world())
                    store._save()
        store.world()
        return store

    def world(self) -> World:
        """The current world, reloaded first if the file changed since we last read or wrote it."""
        if self._world is None or self._stamp != _stamp(self.path):
            self._load()
        assert self._world is not None
        return self._world

    @contextlib.contextmanager
    def change(self) -> Iterator[World]:
        """Change the world under the lock; saved when the block ends without an exception.

        An operation that fails part-way leaves nothing behind: the next read reloads the file.
        """
        with self._locked():
            world = self.world()
            try:
                yield world
            except BaseException:
                self._world = None
                raise
            self._save()

    def _load(self) -> None:
        try:
            # The stamp comes from the handle read, not the path: a file renamed over ours in
            # between must not be taken for the one we read.
            with open(self.path, "rb") as handle:
                info = os.fstat(handle.fileno())
                raw = handle.read()
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError as exc:
            raise FileAccessError(
                f"{self.path}: cannot read the world file: {exc.strerror}"
            ) from None
        try:
            state = WorldState.model_validate_json(raw)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'file'}: {error['msg']}"
                for error in exc.errors()[:5]
            )
            raise FileAccessError(f"{self.path}: not a valid world file: {problems}") from None
        self._world = World(state)
        self._stamp = stamp

    def _save(self) -> None:
        try:
            self._write()
        except OSError as exc:
            raise FileAccessError(
                f"{self.path}: cannot save the world file: {exc.strerror}"
            ) from None

    def _write(self) -> None:
        assert self._world is not None
        data = self._world.state.model_dump_json(indent=1, exclude_none=True).encode()
        replace_atomically(self.path, data)
        self._stamp = _stamp(self.path)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:
            yield
            return
        try:
            directory = os.open(self.path.parent, os.O_RDONLY)
        except OSError as exc:
            raise FileAccessError(
                f"{self.path}: cannot use its directory: {exc.strerror}"
            ) from None
        try:
            fcntl.flock(directory, fcntl.LOCK_EX)
            yield
        finally:
            os.close(directory)  # closing releases the lock


def _stamp(path: Path) -> _Stamp | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)
