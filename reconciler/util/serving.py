"""Listening on a socket, for the two HTTP servers groupctl runs: the simulator and watch."""

from __future__ import annotations

import signal
import socket
from types import FrameType

import uvicorn


def bind(host: str, port: int) -> socket.socket:
    """A listening socket; port 0 picks a free port (see `getsockname()`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # socket says it is TCP; without it every answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


class GracefulServer(uvicorn.Server):
    """uvicorn, ending with exit status 0 after a graceful shutdown on SIGTERM or SIGINT.

    uvicorn re-raises the signal once it has shut down, so that the process dies of it; a
    service that finished its work cleanly should say so instead.
    """

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting
        self.should_exit = True
