"""The servers' graceful exit: a signal is passed on to the application in its event loop,
each time it comes (watch winds its heal down at the first, and hurries it at the second)."""

from __future__ import annotations

import asyncio
import signal

import uvicorn

from reconciler.util.serving import GracefulServer


async def _app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("never served")


async def test_each_signal_is_passed_on_in_the_event_loop_not_in_the_handler() -> None:
    told: list[str] = []
    server = GracefulServer(uvicorn.Config(_app), on_exit=lambda: told.append("stop"))
    server.handle_exit(signal.SIGTERM, None)
    assert told == []  # not from within the signal handler
    await asyncio.sleep(0)  # the loop's next turn
    assert told == ["stop"]
    assert server.should_exit
    assert not server.force_exit
    server.handle_exit(signal.SIGINT, None)  # again: a second Ctrl-C
    await asyncio.sleep(0)
    assert told == ["stop", "stop"]
    assert server.force_exit


def test_a_signal_with_no_loop_running_is_not_passed_on() -> None:
    told: list[str] = []
    server = GracefulServer(uvicorn.Config(_app), on_exit=lambda: told.append("stop"))
    server.handle_exit(signal.SIGTERM, None)
    assert server.should_exit
    assert told == []
