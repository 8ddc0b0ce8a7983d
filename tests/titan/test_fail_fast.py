"""A wrong address is said at once, with what to check, instead of after six tries over two
minutes: TLS against plain HTTP, a refused connection or a name that does not resolve before
the API ever answered, and an address that takes the connection and never answers. What can
pass (a connection refused once the API has answered: a restart) is still tried again. Over
real sockets; the last test through the installed CLI against `groupctl sim serve`."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from reconciler.core.jid import parse_group_jid
from reconciler.errors import ApiConnectionError
from reconciler.titan.answers import hopeless
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy
from tests.support.processes import sim_serve

KEY = "fail-fast-key-71c0de"
Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def answer_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Whatever comes, an HTTP answer (to a TLS hello too, as a plain HTTP server does)."""
    await reader.read(1024)
    body = b'{"data": []}'
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
    await writer.drain()
    writer.close()


async def serving(handler: Handler) -> tuple[asyncio.Server, int, list[int]]:
    """A server on a free port of 127.0.0.1, and the list its connections are counted in."""
    connections: list[int] = []

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await handler(reader, writer)

    server = await asyncio.start_server(counted, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], connections


async def no_pause(seconds: float) -> None:
    """Backoff between retries, without the wait (what is tried is what is tested)."""


def client(url: str, **kwargs: object) -> TitanClient:
    return TitanClient(url, api_key=KEY, sleep=no_pause, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    """A port nothing listens on (bound, then let go)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_https_to_a_plain_http_server_fails_at_once_saying_to_use_http() -> None:
    server, port, connections = await serving(answer_http)
    async with server, client(f"https://127.0.0.1:{port}") as titan:
        with pytest.raises(ApiConnectionError) as failed:
            await titan.list_groups()
    assert failed.value.hopeless
    assert failed.value.attempts == 1
    assert len(connections) == 1  # tried once: it fails the same way every time
    assert f"use http://127.0.0.1:{port}" in str(failed.value)


async def test_a_write_over_https_to_plain_http_is_not_tried_again_either() -> None:
    server, port, connections = await serving(answer_http)
    async with server, client(f"https://127.0.0.1:{port}") as titan:
        with pytest.raises(ApiConnectionError) as failed:
            # Revoking a link is repeated only when surely not done: a refused TLS is that.
            await titan.revoke_invite_code(parse_group_jid("120363000000000001@g.us"))
    assert failed.value.hopeless
    assert failed.value.attempts == 1
    assert len(connections) == 1  # sent nowhere, yet not repeated: it cannot pass


async def test_a_refused_connection_before_any_answer_fails_at_once() -> None:
    port = free_port()
    async with client(f"http://127.0.0.1:{port}") as titan:
        with pytest.raises(ApiConnectionError) as failed:
            await titan.list_groups()
    assert failed.value.hopeless
    assert failed.value.attempts == 1
    assert f"nothing accepts connections at 127.0.0.1:{port}" in str(failed.value)


async def test_a_refused_connection_after_the_api_answered_is_tried_again() -> None:
    server, port, _ = await serving(answer_http)
    async with client(f"http://127.0.0.1:{port}", retry=RetryPolicy(attempts=3)) as titan:
        async with server:
            assert await titan.list_groups() == []
        await server.wait_closed()  # the API goes away (a restart): that can pass
        with pytest.raises(ApiConnectionError) as failed:
            await titan.list_groups()
    assert not failed.value.hopeless
    assert failed.value.attempts == 3


async def test_a_host_name_that_does_not_resolve_fails_at_once() -> None:
    async with client("http://no-such-host.invalid:8765") as titan:  # .invalid never resolves
        with pytest.raises(ApiConnectionError) as failed:
            await titan.list_groups()
    assert failed.value.hopeless
    assert failed.value.attempts == 1
    assert "'no-such-host.invalid' does not resolve" in str(failed.value)


async def test_an_address_that_never_answers_the_first_call_fails_after_one_wait() -> None:
    silent = asyncio.Event()  # never set: the connection is held, and nothing is said

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await silent.wait()
        writer.close()

    server, port, connections = await serving(say_nothing)
    async with server, client(f"http://127.0.0.1:{port}", timeout=0.2) as titan:
        with pytest.raises(ApiConnectionError) as failed:
            await titan.list_groups()
        silent.set()
    assert failed.value.hopeless
    assert failed.value.attempts == 1
    assert len(connections) == 1
    assert f"nothing answered within 0.2 s: is http://127.0.0.1:{port} the API?" in str(
        failed.value
    )


def test_status_over_https_against_the_http_simulator_says_it_speaks_http(
    groupctl: str, tmp_path: Path
) -> None:
    with sim_serve(groupctl, tmp_path / "world.json", key=KEY) as served:
        https = served.url.replace("http://", "https://")
        done = subprocess.run(
            [groupctl, "status", "--api", https],
            capture_output=True,
            text=True,
            env={"PATH": str(Path(groupctl).parent), "TITAN_API_KEY": KEY, "NO_COLOR": "1"},
            cwd=tmp_path,
            timeout=60,
        )
    assert done.returncode == 1
    plain = "if the API is plain HTTP there (as `groupctl sim serve` is)"
    assert f"does not speak TLS: {plain}, use {served.url}" in done.stderr
    assert "retrying" not in done.stderr  # not a second try, let alone six
    assert "Traceback" not in done.stderr


def failed_from(cause: BaseException) -> httpx.ConnectError:
    """What httpx raises for a connection that failed with `cause` (as its context)."""
    exc = httpx.ConnectError("connection failed")
    exc.__context__ = cause
    return exc


def all_attempts_failed() -> OSError:
    """What anyio raises when every address of a host refused the connection."""
    refused = [ConnectionRefusedError(111, "Connection refused") for _ in range(2)]
    exc = OSError("All connection attempts failed")
    exc.__cause__ = ExceptionGroup("", refused)
    return exc


@pytest.mark.parametrize(
    ("cause", "before", "after"),
    [
        # Fails the same way every time: hopeless whenever it happens.
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), True, True),
        # A handshake cut short: a dropped connection mid-run, hopeless only at the start.
        (ssl.SSLEOFError(8, "EOF occurred in violation of protocol"), True, False),
        (socket.gaierror(-2, "Name or service not known"), True, False),
        (ConnectionRefusedError(111, "Connection refused"), True, False),
        (all_attempts_failed(), True, False),  # a host of several addresses, each refusing
        (ConnectionResetError(104, "Connection reset by peer"), False, False),
    ],
)
def test_what_is_hopeless_before_and_after_the_api_answered(
    cause: BaseException, before: bool, after: bool
) -> None:
    exc = failed_from(cause)
    if isinstance(cause, ssl.SSLError) and "WRONG_VERSION" in str(cause):
        cause.reason = "WRONG_VERSION_NUMBER"  # what OpenSSL sets; the constructor does not
    url = "https://titan.example"
    assert (hopeless(exc, url, contacted=False) is not None) is before
    assert (hopeless(exc, url, contacted=True) is not None) is after
