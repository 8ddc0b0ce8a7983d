"""`groupctl watch` under attack, as a real process over real sockets: what anonymous peers can
make it hold is bounded (slow heads and bodies are cut off at the read timeout and their
connections closed, deliveries beyond the slots are answered 503), hostile deliveries get an
answer and never a traceback, old ones are refused, and /healthz reads Titan in the
background instead of when asked. The memory figure is bench/watch_connections.py's."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from reconciler.sim.webhooks import envelope, sign
from reconciler.watch.intake import MAX_DELIVERIES, MAX_DEPTH
from tests.support.processes import ServedSim, sim_serve, start_groupctl
from tests.support.watching import eventually

KEY = "attack-key-5f3e9a71c2"
SECRET = "attack-secret-0d84be6a19"
GROUP = "120363000000000101@g.us"  # the example's announcements group
HANG_GUARD = 30.0  # seconds a socket waits before the test calls it a hang


@dataclass
class Served:
    sim: ServedSim
    watch: subprocess.Popen[str]
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def metric(self, name: str) -> float:
        text = httpx.get(f"{self.url}/metrics", timeout=HANG_GUARD).text
        return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name))

    def stop(self) -> str:
        """SIGTERM; its exit status checked; what it wrote on stderr."""
        self.watch.send_signal(signal.SIGTERM)
        _, err = self.watch.communicate(timeout=HANG_GUARD)
        assert self.watch.returncode == 0, err
        return err


@contextmanager
def watching(groupctl: str, example: Path, *flags: str) -> Iterator[Served]:
    """`groupctl watch FLAGS` on a free port of 127.0.0.1, over `groupctl sim serve`."""
    with sim_serve(groupctl, example / "world.json", key=KEY) as sim:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("TITAN_", "GROUPCTL_"))},
            "TITAN_API_URL": sim.url,
            "TITAN_API_KEY": KEY,
            "TITAN_WEBHOOK_SECRET": SECRET,
            "NO_COLOR": "1",
        }
        watch = start_groupctl(
            groupctl, "watch", "--listen", "127.0.0.1:0", *flags, cwd=example, env=env
        )
        try:
            assert watch.stdout is not None
            first = watch.stdout.readline()
            assert "listening on http://127.0.0.1:" in first, first
            yield Served(sim, watch, first.split()[-1])
        finally:
            if watch.poll() is None:
                watch.kill()
                watch.communicate(timeout=HANG_GUARD)


def connect(served: Served, data: bytes = b"") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", served.port), timeout=HANG_GUARD)
    sock.sendall(data)
    return sock


def until_closed(sock: socket.socket) -> bytes:
    """Everything watch sends until it closes the connection (a hang fails the test)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    return received


def head(length: int, signature: bytes = b"sha256=" + b"0" * 64) -> bytes:
    """A delivery's head; the connection is to close after the answer."""
    return (
        b"POST /webhooks/titan HTTP/1.1\r\nHost: watch\r\nContent-Type: application/json\r\n"
        b"Connection: close\r\nX-Webhook-Signature: " + signature + b"\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


def post(served: Served, body: bytes, signature: bytes | None = None) -> bytes:
    """A delivery over a fresh connection, signed unless told otherwise: the status line."""
    signature = signature or sign(SECRET, body).encode()
    answer = until_closed(connect(served, head(len(body), signature) + body))
    return answer.split(b"\r\n", 1)[0]


def test_slow_heads_and_bodies_are_cut_off_at_the_read_timeout(
    groupctl: str, example: Path
) -> None:
    with watching(groupctl, example, "--read-timeout", "0.5s") as served:
        # A body that never comes whole: answered 408, and the connection closed.
        answer = until_closed(connect(served, head(1000) + b'{"id": "evt_'))
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b'"the body did not arrive within 0.5 s"' in answer
        # A head that never ends, and a connection that never says anything: closed.
        assert until_closed(connect(served, b"POST /webhooks/titan HTTP/1.1\r\nHost: w")) == b""
        assert until_closed(connect(served)) == b""
        # A request answered while its body still trickles in: closed all the same (each byte
        # used to put off uvicorn's keep-alive timeout, for ever).
        sock = connect(served, b"GET /metrics HTTP/1.1\r\nHost: w\r\nContent-Length: 9999\r\n\r\n")
        sock.settimeout(0.1)  # the trickle's pace: a byte whenever watch says nothing for this
        received, closed = b"", False
        for _ in range(int(HANG_GUARD / 0.1)):
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                try:
                    sock.sendall(b" ")
                except (ConnectionResetError, BrokenPipeError):
                    closed = True  # closed with the trickle unread: the kernel says so by RST
                    break
                continue
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
        sock.close()
        assert received.startswith(b"HTTP/1.1 200 ")
        assert closed, "a trickled body kept an answered connection open"
        assert served.metric('groupctl_webhooks_total{result="too_slow"}') == 1
        assert "Traceback" not in served.stop()


def test_deliveries_beyond_the_slots_are_answered_busy_and_the_slots_come_back(
    groupctl: str, example: Path
) -> None:
    with watching(groupctl, example, "--read-timeout", "5m") as served:
        slow = [connect(served, head(1000) + b'{"id": "evt_') for _ in range(MAX_DELIVERIES)]
        reading = "groupctl_webhooks_reading"
        eventually(lambda: served.metric(reading) == MAX_DELIVERIES, HANG_GUARD, "slots taken")
        body = envelope("group.update", {"id": GROUP, "newSubject": "x"}, "default")
        assert post(served, body).startswith(b"HTTP/1.1 503 ")  # Titan tries it again later
        for sock in slow:  # the slow senders give up
            sock.close()
        eventually(lambda: served.metric(reading) == 0, HANG_GUARD, "slots given back")
        assert post(served, body).startswith(b"HTTP/1.1 202 ")
        assert served.metric('groupctl_webhooks_total{result="disconnected"}') == MAX_DELIVERIES
        assert served.metric('groupctl_webhooks_total{result="busy"}') == 1
        assert "Traceback" not in served.stop()


def test_hostile_deliveries_get_an_answer_and_never_a_traceback(
    groupctl: str, example: Path
) -> None:
    with watching(groupctl, example) as served:
        body = envelope("group.update", {"id": GROUP, "newSubject": "x"}, "default")
        for signature in (b"sha256=\xff\xfe", "sha256=é".encode(), b"\xc3\xa9" * 40):
            assert post(served, body, signature).startswith(b"HTTP/1.1 401 "), signature
        deep = b"[" * 100_000 + b"]" * 100_000
        assert post(served, deep).startswith(b"HTTP/1.1 400 ")
        lists = "[" * MAX_DEPTH + "]" * MAX_DEPTH  # readable, and too deep for watch
        payload = f'{{"id": "{GROUP}", "x": {lists}}}'
        deep_event = f'{{"id": "evt_d", "event": "group.update", "payload": {payload}}}'
        assert post(served, deep_event.encode()).startswith(b"HTTP/1.1 400 ")
        old = datetime.now(UTC) - timedelta(hours=1)
        replayed = envelope("group.update", {"id": GROUP}, "default", now=old)
        assert post(served, replayed).startswith(b"HTTP/1.1 400 ")
        connect(served, head(1000) + b'{"id": "evt_').close()  # the sender leaves mid-body
        eventually(
            lambda: served.metric('groupctl_webhooks_total{result="disconnected"}') == 1,
            HANG_GUARD,
            "the sender that left, counted",
        )
        assert served.metric('groupctl_webhooks_total{result="bad_signature"}') == 3
        assert served.metric('groupctl_webhooks_total{result="malformed"}') == 2
        assert served.metric('groupctl_webhooks_total{result="too_old"}') == 1
        err = served.stop()
    assert "Traceback" not in err
    assert KEY not in err
    assert SECRET not in err


@pytest.mark.slow
def test_healthz_reads_titan_in_the_background_and_never_waits_for_it(
    groupctl: str, example: Path
) -> None:
    # Read every second rather than every 10 s: the same path, without 20 s of waiting.
    with watching(groupctl, example, "--health-interval", "1s") as served:

        def session_reads() -> int:
            stats = httpx.get(f"{served.sim.url}/_sim/stats", timeout=HANG_GUARD).json()
            return int(stats["by_call"].get("GET /api/sessions/default", 0))

        eventually(lambda: httpx.get(f"{served.url}/healthz").status_code == 200, 30, "healthy")
        reads = session_reads()  # /healthz is not asked from here on
        eventually(lambda: session_reads() > reads + 1, 30, "reads of the session, unasked")
        served.sim.kill()  # Titan goes away

        def unhealthy() -> bool:
            # Answered from what is known: a /healthz that waited for Titan's retries (12 s
            # here) would fail this client's timeout.
            answer = httpx.get(f"{served.url}/healthz", timeout=5)
            return answer.status_code == 503 and "error" in answer.json()

        eventually(unhealthy, 3 * 10, "Titan's absence, reported")
        assert "Traceback" not in served.stop()
