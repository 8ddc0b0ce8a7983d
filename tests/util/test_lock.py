"""The lock that keeps two runs apart: one holder at a time, a wait that ends when it should and
names the holder, nothing left behind, and no write through whatever is put in its place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from reconciler.errors import FileAccessError, RunLockedError
from reconciler.util.lock import POLL_INTERVAL, FileLock


class Time:
    """A clock that moves only when the lock sleeps: waits are counted, not waited."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_second_holder_is_refused_while_the_first_holds_it_and_taken_after(
    tmp_path: Path,
) -> None:
    first = FileLock(tmp_path / "state.lock", holder="groupctl apply")
    second = FileLock(tmp_path / "state.lock", holder="groupctl watch --self-heal")
    assert first.try_acquire() is None
    holder = second.try_acquire()
    assert holder is not None
    assert holder.startswith(f"groupctl apply (pid {os.getpid()} on ")
    first.release()
    assert not (tmp_path / "state.lock").exists()  # nothing left in the checkout
    assert second.try_acquire() is None
    second.release()


async def test_a_wait_tells_who_holds_it_once_and_gives_up_at_the_timeout(tmp_path: Path) -> None:
    holding = FileLock(tmp_path / "state.lock", holder="groupctl apply")
    assert holding.try_acquire() is None
    time = Time()
    waiting = FileLock(
        tmp_path / "state.lock", holder="groupctl apply", sleep=time.sleep, clock=time.clock
    )
    heard: list[str] = []
    with pytest.raises(RunLockedError) as refused:
        await waiting.acquire(3, on_wait=heard.append)
    assert len(heard) == 1
    assert heard[0].startswith("groupctl apply (pid ")
    assert time.now == pytest.approx(3)
    assert max(time.sleeps) <= POLL_INTERVAL
    message = str(refused.value)
    assert f"another groupctl run holds {tmp_path / 'state.lock'} for the 3 s this run waited" in (
        message
    )
    assert heard[0] in message
    assert "--lock-timeout" in message
    holding.release()


async def test_a_timeout_of_zero_does_not_wait_at_all(tmp_path: Path) -> None:
    holding = FileLock(tmp_path / "state.lock", holder="groupctl apply")
    assert holding.try_acquire() is None
    time = Time()
    waiting = FileLock(tmp_path / "state.lock", holder="x", sleep=time.sleep, clock=time.clock)
    with pytest.raises(RunLockedError, match=r"holds .*state\.lock: groupctl apply"):
        await waiting.acquire(0)
    assert time.sleeps == []
    holding.release()


async def test_the_lock_is_held_for_a_block_and_let_go_after_it_even_on_an_error(
    tmp_path: Path,
) -> None:
    lock = FileLock(tmp_path / "state.lock", holder="groupctl apply")
    other = FileLock(tmp_path / "state.lock", holder="other")
    held_meanwhile: list[str | None] = []

    async def fails_inside() -> None:
        async with lock.held(0):
            held_meanwhile.append(other.try_acquire())
            raise ValueError("inside")

    with pytest.raises(ValueError, match="inside"):
        await fails_inside()
    assert held_meanwhile[0] is not None
    assert other.try_acquire() is None
    other.release()


class OpenedEarly(FileLock):
    """A waiter that opened the lock's file before its holder let go (and removed it)."""

    def __init__(self, path: Path, early: int) -> None:
        super().__init__(path, holder="late")
        self.early: int | None = early

    def _open(self) -> int:
        if self.early is not None:
            fd, self.early = self.early, None
            return fd
        return super()._open()


def test_a_file_removed_while_a_waiter_had_it_open_is_not_a_second_lock(tmp_path: Path) -> None:
    path = tmp_path / "state.lock"
    first = FileLock(path, holder="first")
    assert first.try_acquire() is None
    waiter = OpenedEarly(path, os.open(path, os.O_RDWR))
    first.release()  # removes the file: the waiter's is no longer the lock
    third = FileLock(path, holder="third")
    assert third.try_acquire() is None  # on a new file at the path
    holder = waiter.try_acquire()
    assert holder is not None
    assert holder.startswith("third (pid ")
    third.release()


def test_what_the_holder_wrote_is_shown_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "state.lock"
    lock = FileLock(path, holder="groupctl apply")
    assert lock.try_acquire() is None
    with path.open("r+") as handle:  # a holder that writes a forged second line
        handle.write("apply\n::error::forged\x1b[2J")
    holder = FileLock(path, holder="x").try_acquire()
    assert holder is not None
    assert "\n" not in holder
    assert "\x1b" not in holder
    lock.release()


def test_a_symlink_in_the_locks_place_is_refused_and_its_target_untouched(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("keep me")
    (tmp_path / "state.lock").symlink_to(target)
    with pytest.raises(FileAccessError, match="cannot create the lock"):
        FileLock(tmp_path / "state.lock", holder="x").try_acquire()
    assert target.read_text() == "keep me"


def test_a_fifo_in_the_locks_place_is_refused_without_hanging(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "state.lock")
    with pytest.raises(FileAccessError, match="must be a regular file"):
        FileLock(tmp_path / "state.lock", holder="x").try_acquire()
