"""Listening on a socket, for the two HTTP servers groupctl runs: the simulator and watch;
and, for watch, which faces the internet, HTTP/1.1 that closes connections whose requests do
not come."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import signal
import socket
from asyncio import sslproto
from collections.abc import Callable
from types import FrameType

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol


def bind(host: str, port: int, *, receive_buffer: int | None = None) -> socket.socket:
    """A listening socket; port 0 picks a free port (see `getsockname()`). `receive_buffer`
    bounds, in bytes, what each connection's peer can have waiting to be read (SO_RCVBUF,
    which Linux doubles for its own bookkeeping)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # socket says it is TCP; without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if receive_buffer is not None:
        # Before listen(): accepted connections inherit it, and it sets the TCP window they
        # offer. asyncio reads up to 256 KiB a time from a connection, before the application
        # can decide anything; a small buffer keeps each read, and so what a thousand peers
        # sending at once make the process hold, small.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def small_tls_reads() -> None:
    """Have asyncio read TLS connections 4 KiB at a time, for the whole process.

    asyncio gives each TLS connection a zero-filled read buffer of `SSLProtocol.max_size`
    (256 KiB) as it is accepted, before its handshake: a thousand connections that never
    finish one hold 250 MiB. Read in 4 KiB pieces instead, they hold 4 KiB each (beside
    OpenSSL's own state); small deliveries, and Titan's answers, arrive just as well.
    """
    sslproto.SSLProtocol.max_size = 4 * 1024


class GracefulServer(uvicorn.Server):
    """uvicorn, ending with exit status 0 after a graceful shutdown on SIGTERM or SIGINT.

    uvicorn re-raises the signal once it has shut down, so that the process dies of it; a
    service that finished its work cleanly should say so instead.
    """

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self._on_exit = on_exit  # told at each signal, in the event loop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting
        self.should_exit = True
        if self._on_exit is not None:
            # A signal handler runs between any two steps: the loop runs the callback, in a
            # context of its own. With no loop running (yet, or any more) there is nothing to
            # tell.
            with contextlib.suppress(RuntimeError):
                loop = asyncio.get_running_loop()
                loop.call_soon_threadsafe(self._on_exit, context=contextvars.Context())


class HeadDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 (h11), closing a connection that has not sent a whole request head
    within `head_timeout` seconds: of connecting, or of the answer to its last request.

    uvicorn has no such deadline: a peer that never finishes its head, or that keeps sending
    the unread body of a request already answered (each byte postpones uvicorn's keep-alive
    timeout), holds its connection for ever. The application bounds the bodies it reads.
    """

    head_timeout = 10.0
    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        super().connection_lost(exc)

    def _start_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._head_timer = self.loop.call_later(self.head_timeout, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is None or self.cycle.response_complete:  # no request is under way
            self.transport.close()


def head_deadline(seconds: float) -> type[H11Protocol]:
    """The HTTP protocol for `uvicorn.Config(http=...)` with a head deadline of `seconds`."""
    return type("HeadDeadlineProtocol", (HeadDeadlineProtocol,), {"head_timeout": seconds})
