"""A hostile or broken API: each failure is a clear ApiError (no traceback), the key never
follows a redirect to another origin, and an apply that meets one is not reported a success."""

from __future__ import annotations

import gzip
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import trustme

from reconciler.core.jid import parse_group_jid, parse_jid
from reconciler.engine.apply import apply
from reconciler.engine.plan import Action, GroupPlan, Kind, Plan
from reconciler.errors import ApiConnectionError, ApiError, ApiResponseError
from reconciler.titan.client import TitanClient
from reconciler.titan.http import MAX_ANSWER_BYTES
from reconciler.titan.retries import RetryPolicy

KEY = "hostile-api-key-0c3e77"
GROUP = parse_group_jid("120363000000000001@g.us")


def client(base_url: str, **options: Any) -> TitanClient:
    settings: dict[str, Any] = {"retry": RetryPolicy(attempts=1), "write_rate": None, **options}
    return TitanClient(base_url, api_key=KEY, **settings)


def mocked(answer: Callable[[httpx.Request], httpx.Response]) -> TitanClient:
    return client("https://titan.test", transport=httpx.MockTransport(answer))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b'{"data": {"id": 42}}', "id"),  # a number where a group id belongs
        (b'{"data": {"name": "Team"}}', "id"),  # no id at all
        (
            b'{"data": {"id": "120363000000000001@g.us", "participants": "everyone"}}',
            "participants",
        ),
        (
            b'{"data": {"id": "120363000000000001@g.us", "participants": [{"isAdmin": "yes",'
            b' "phoneNumber": "+14155550101"}]}}',
            "true or false",
        ),
        (b'{"data": {"id": "not-a-jid", "participants": []}}', "id"),
        (b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "not JSON"),
    ],
    ids=[
        "html",
        "wrong-type",
        "missing-field",
        "participants-string",
        "flag-string",
        "bad-jid",
        "broken",
    ],
)
async def test_malformed_answers_are_api_response_errors(content: bytes, message: str) -> None:
    async with mocked(lambda request: httpx.Response(200, content=content)) as titan:
        with pytest.raises(ApiResponseError, match=message) as error:
            await titan.get_group(GROUP)
    assert "GET /api/sessions/default/groups/120363000000000001%40g.us" in str(error.value)
    assert KEY not in str(error.value)


async def test_a_huge_answer_is_refused_unread() -> None:
    size = MAX_ANSWER_BYTES + 1

    def huge(request: httpx.Request) -> httpx.Response:
        async def body() -> Any:
            sent = 0
            while sent < size:
                yield b" " * 65536
                sent += 65536

        return httpx.Response(200, content=body())

    async with mocked(huge) as titan:
        with pytest.raises(ApiResponseError, match="larger than 67,108,864 bytes"):
            await titan.list_groups()


async def test_a_compressed_bomb_is_refused_by_its_decoded_size() -> None:
    bomb = gzip.compress(b" " * (MAX_ANSWER_BYTES + 1024))  # about 65 KiB on the wire
    async with mocked(
        lambda request: httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})
    ) as titan:
        with pytest.raises(ApiResponseError, match="larger than"):
            await titan.list_groups()


# -- real servers on 127.0.0.1 --------------------------------------------------------------


class Server:
    """A misbehaving HTTP server on 127.0.0.1; records the Authorization headers it gets."""

    def __init__(self, handle: Callable[[BaseHTTPRequestHandler], None]) -> None:
        self.authorizations: list[str | None] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                outer.authorizations.append(self.headers.get("Authorization"))
                handle(self)

            def do_POST(self) -> None:
                self.do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def serve() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], Server]]:
    servers: list[Server] = []

    def start(handle: Callable[[BaseHTTPRequestHandler], None]) -> Server:
        servers.append(Server(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


async def test_a_slow_loris_answer_times_out_as_a_whole(serve: Any) -> None:
    stop = threading.Event()

    def dribble(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        for _ in range(1000):  # one byte at a time, each well inside the read timeout
            if stop.wait(0.05):
                return
            handler.wfile.write(b" ")
            handler.wfile.flush()

    server = serve(dribble)
    try:
        async with client(server.url, timeout=1.0) as titan:
            with pytest.raises(ApiConnectionError, match="did not finish answering within 1 s"):
                await titan.list_groups()
    finally:
        stop.set()


async def test_the_key_never_follows_a_redirect_to_another_origin(serve: Any) -> None:
    elsewhere = serve(lambda handler: handler.send_error(404))

    def redirect(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(307)
        handler.send_header("Location", f"{elsewhere.url}/steal")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    titan_server = serve(redirect)
    async with client(titan_server.url) as titan:
        with pytest.raises(ApiError) as error:
            await titan.list_groups()
    assert titan_server.authorizations == [f"Bearer {KEY}"]
    assert elsewhere.authorizations == []  # never asked, so never told
    assert "HTTP 307" in str(error.value)
    assert KEY not in str(error.value)


async def test_a_picture_elsewhere_is_downloaded_without_the_key(serve: Any) -> None:
    def picture(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", "3")
        handler.end_headers()
        handler.wfile.write(b"jpg")

    elsewhere = serve(picture)
    titan_server = serve(lambda handler: handler.send_error(500))
    async with client(titan_server.url) as titan:
        assert await titan.download(f"{elsewhere.url}/p.jpg") == b"jpg"
    assert elsewhere.authorizations == [None]


async def test_a_tls_error_is_a_clear_connection_error() -> None:
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(context)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def accept() -> None:
        try:
            connection, _ = listener.accept()
            with context.wrap_socket(connection, server_side=True):
                pass
        except (ssl.SSLError, OSError):
            pass  # the client hangs up: it does not trust this certificate

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        async with client(f"https://127.0.0.1:{port}") as titan:
            with pytest.raises(ApiConnectionError, match="CERTIFICATE_VERIFY_FAILED") as error:
                await titan.list_groups()
        assert KEY not in str(error.value)
    finally:
        thread.join(timeout=10)
        listener.close()


async def test_an_apply_that_meets_a_broken_answer_is_not_a_success() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/subject"):
            return httpx.Response(200, json={"data": {"success": True}})
        return httpx.Response(200, content=b'{"data": {"results": "all good"}}')

    plan = Plan(
        (
            GroupPlan(
                "team",
                "Team",
                GROUP,
                (
                    Action(Kind.SUBJECT, old="Old", new="Team"),
                    Action(Kind.ADD, (parse_jid("+14155550101"),)),
                    Action(Kind.PROMOTE, (parse_jid("+14155550101"),)),
                ),
            ),
        )
    )
    async with mocked(answer) as titan:
        report = await apply(plan, titan)
    assert not report.ok
    assert [step.outcome.value for step in report.groups[0].steps] == ["done", "failed", "skipped"]
    assert "results" in (report.groups[0].error or "")
