"""A gate between groupctl and `groupctl sim serve`: an HTTP proxy on 127.0.0.1 that passes
reads and holds every write until the test opens it, so that a test knows exactly which calls
are in flight when it does something (send a signal, break the state file) without timing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

WAIT = 60.0  # seconds a test waits for groupctl to reach the gate before it fails
# Headers of the answer not passed on as they are (its body is passed on decoded, whole).
_HOP_BY_HOP = frozenset({"transfer-encoding", "connection", "content-length", "content-encoding"})


class Gate:
    """Writes that reached the gate (`writes`), held until `open()`; or, after `drop()`,
    never passed on (their connection is closed unanswered, like a network that failed)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.writes: list[str] = []  # "METHOD path" of each write, in the order they came
        self._changed = threading.Condition()
        self._open = threading.Event()
        self._dropping = False

    def wait_for_writes(self, count: int) -> None:
        """Until `count` writes have reached the gate (AssertionError after `WAIT` s)."""
        with self._changed:
            reached = self._changed.wait_for(lambda: len(self.writes) >= count, timeout=WAIT)
        assert reached, f"only {len(self.writes)} writes reached the gate: {self.writes}"

    def open(self) -> None:
        """Pass on the writes held, and every later one."""
        self._open.set()

    def drop(self) -> None:
        """Pass on no write held or to come: each is left unanswered."""
        self._dropping = True
        self._open.set()

    def pass_on(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        method = handler.command
        if method != "GET":
            with self._changed:
                self.writes.append(f"{method} {handler.path}")
                self._changed.notify_all()
            self._open.wait()
            if self._dropping:
                handler.close_connection = True
                return
        headers = {k: v for k, v in handler.headers.items() if k.lower() != "host"}
        with httpx.Client(base_url=self.upstream, timeout=WAIT) as client:
            answer = client.request(method, handler.path, content=body, headers=headers)
        handler.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in _HOP_BY_HOP:
                handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(answer.content)))
        handler.end_headers()
        handler.wfile.write(answer.content)


@contextmanager
def gate_in_front_of(upstream: str) -> Iterator[tuple[Gate, str]]:
    """A gate passing calls on to `upstream`, and its own address."""
    gate = Gate(upstream)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            gate.pass_on(self, self.rfile.read(length))

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any  # noqa: N815 - http.server's names

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield gate, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        gate.drop()  # nothing left hanging
        server.shutdown()
        server.server_close()
