"""One call over HTTP: the bearer key and its path, pacing, answers and failures mapped to our
errors, and a key that never leaks (titan.http)."""

from __future__ import annotations

import asyncio
import logging

import httpx
import pytest

from reconciler.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    AuthenticationError,
    BadRequestError,
    OutcomeUnknownError,
    PermissionDeniedError,
    ServerError,
    SettingsError,
)
from reconciler.titan.client import TitanClient
from reconciler.titan.retries import RetryPolicy
from reconciler.util.rates import Rate
from tests.conftest import MakeSim
from tests.support.harness import ALICE, jid
from tests.titan.scripted import ENG, SECRET, Script, client_for, error, ok


async def test_every_request_carries_the_bearer_key_and_session_path() -> None:
    script = Script(ok([]))
    await client_for(script, session="sales-eu").list_groups()
    request = script.calls[0]
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.url.path == "/api/sessions/sales-eu/groups"


async def test_connection_failures_become_api_connection_errors() -> None:
    refused = Script(*[httpx.ConnectError("[Errno 111] Connection refused")] * 2)
    with pytest.raises(ApiConnectionError, match="Connection refused") as failed:
        await client_for(refused, retry=RetryPolicy(attempts=2)).list_groups()
    assert failed.value.request_sent is False
    assert failed.value.status is None
    timeout = Script(httpx.ReadTimeout("read timed out"))
    with pytest.raises(ApiConnectionError, match="timed out"):
        await client_for(timeout, retry=RetryPolicy(attempts=1)).list_groups()


async def test_an_answer_that_is_not_json_is_an_api_response_error() -> None:
    script = Script(httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(ApiResponseError, match="not JSON"):
        await client_for(script).list_groups()


async def test_an_answer_of_the_wrong_shape_names_the_field() -> None:
    script = Script(ok([{"name": "no id"}]))
    with pytest.raises(ApiResponseError, match=r"at 0\.id"):
        await client_for(script).list_groups()


async def test_redirects_are_not_followed() -> None:
    script = Script(httpx.Response(307, headers={"Location": "https://elsewhere.test/x"}))
    with pytest.raises(ApiResponseError, match="redirect"):
        await client_for(script).list_groups()
    assert len(script.calls) == 1


async def test_the_key_is_in_no_repr_error_or_log_line(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = error(500, f"upstream said Authorization: Bearer {SECRET}")
    script = Script(echo, echo, httpx.ConnectError(f"proxy {SECRET} refused"))
    client = client_for(script, retry=RetryPolicy(attempts=2))
    texts = [repr(client)]
    for call in (client.list_groups, lambda: client.set_subject(ENG, "x")):
        with pytest.raises(Exception) as failed:  # noqa: PT011 - any error, all checked below
            await call()
        texts += [str(failed.value), repr(failed.value)]
    texts += [record.getMessage() for record in caplog.records]
    assert len(caplog.records) >= 2
    assert all(SECRET not in text for text in texts), [t for t in texts if SECRET in t]


async def test_the_key_is_not_in_a_connection_error_either() -> None:
    script = Script(httpx.ConnectError(f"failed for {SECRET}"))
    with pytest.raises(ApiConnectionError) as failed:
        await client_for(script, retry=RetryPolicy(attempts=1)).list_groups()
    assert SECRET not in str(failed.value)
    # Nothing chained: httpx's exception holds the request, and its headers the key.
    assert failed.value.__cause__ is None
    assert failed.value.__context__ is None


async def test_writes_are_spaced_by_the_configured_rate(make_sim: MakeSim) -> None:
    sim = make_sim()
    client = sim.client(write_rate=Rate(20, 1))  # one write every 50 ms
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n in range(5):
        await client.set_description(ENG, f"v{n}")
    assert loop.time() - started >= 4 * 0.05 * 0.95  # pacing can only make it slower


async def test_a_write_waits_its_turn_and_reads_never_do(make_sim: MakeSim) -> None:
    sim = make_sim()
    client = sim.client(write_rate=Rate(1, 3600))  # the second write may go in an hour
    await client.set_description(ENG, "first")
    await asyncio.wait_for(client.list_groups(), timeout=10)  # a paced read would hang here
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.set_description(ENG, "second"), timeout=0.2)
    assert sim.world.state.groups[0].description == "first"


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(202, json={"data": {"correlationId": "c-1"}}),
        httpx.Response(200, json={"data": {"correlationId": "c-2"}}),
        httpx.Response(202),
    ],
)
async def test_an_accepted_but_unanswered_call_is_outcome_unknown_never_success(
    answer: httpx.Response,
) -> None:
    script = Script(answer)
    with pytest.raises(OutcomeUnknownError, match="outcome is unknown"):
        await client_for(script, retry=RetryPolicy(attempts=5)).add_participants(ENG, [jid(ALICE)])
    assert len(script.calls) == 1  # not repeated either


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "", "sessions:read"),
        ("GET", "/groups", "groups:read"),
        ("POST", "/groups", "groups:manage"),
    ],
)
async def test_a_403_names_the_scope_the_call_needs(method: str, path: str, scope: str) -> None:
    script = Script(error(403, "forbidden"), session=error(403, "forbidden"))
    client = client_for(script)
    with pytest.raises(PermissionDeniedError, match=f"needs the key's {scope} scope"):
        await client._call(method, path)


async def test_a_401_says_keys_expire() -> None:
    script = Script(error(401, "invalid api key"))
    with pytest.raises(AuthenticationError, match="keys expire"):
        await client_for(script).list_groups()


async def test_an_answer_nested_too_deeply_is_an_unreadable_answer_not_a_crash() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    script = Script(httpx.Response(200, content=deep), httpx.Response(500, content=deep))
    client = client_for(script, retry=RetryPolicy(attempts=1))
    with pytest.raises(ApiResponseError, match="not JSON"):
        await client.list_groups()
    with pytest.raises(ServerError):
        await client.set_subject(ENG, "x")


@pytest.mark.parametrize(
    "answer",
    [
        {"code": SECRET},  # echoed as the invite code
        {"data": {"code": f"abc{SECRET}"}},
        {"error": f"bad key {SECRET}"},
    ],
)
async def test_a_key_echoed_anywhere_in_an_answer_never_reaches_a_message(
    answer: dict[str, object],
) -> None:
    status = 400 if "error" in answer else 200
    script = Script(httpx.Response(status, json=answer))
    client = client_for(script)
    shown: str
    try:
        shown = await client.get_invite_code(ENG)
    except ApiError as exc:
        shown = str(exc)
    assert SECRET not in shown


async def test_a_key_echoed_in_per_person_results_never_reaches_them() -> None:
    results = {"results": [{"jid": str(jid(ALICE)), "status": 500, "message": f"k={SECRET}"}]}
    script = Script(ok(results))
    [result] = await client_for(script).add_participants(ENG, [jid(ALICE)])
    assert SECRET not in (result.message or "")


async def test_a_key_echoed_in_json_escapes_never_reaches_a_message_or_a_value() -> None:
    escaped = "".join(f"\\u{ord(c):04x}" for c in SECRET)  # decodes to the key itself
    script = Script(
        httpx.Response(200, content=f'{{"data": {{"code": "x{escaped}"}}}}'.encode()),
        httpx.Response(400, content=f'{{"error": "bad key {escaped}"}}'.encode()),
    )
    client = client_for(script)
    assert SECRET not in await client.get_invite_code(ENG)
    with pytest.raises(BadRequestError) as caught:
        await client.set_subject(ENG, "x")
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    "key", [f"{SECRET}\n", f"{SECRET}\r", f" {SECRET}", f"{SECRET}\x7f", f"{SECRET}\u200b", ""]
)
async def test_a_key_that_cannot_be_sent_as_it_is_is_refused_before_any_call(key: str) -> None:
    script = Script(ok([]))
    with pytest.raises(SettingsError, match="the API key ") as refused:
        client_for(script, api_key=key)
    assert SECRET not in str(refused.value)
    assert script.requests == []


@pytest.mark.parametrize(
    "address", ["https://me:hunter2@titan.test", "https://hunter2@titan.test:8443/base"]
)
def test_an_address_with_a_user_or_password_is_refused_without_showing_them(
    address: str,
) -> None:
    with pytest.raises(SettingsError, match=r"https://\*\*\*@titan\.test") as refused:
        TitanClient(address, api_key=SECRET, transport=httpx.MockTransport(Script()))
    assert "hunter2" not in str(refused.value)


async def test_a_key_spelled_in_json_escapes_is_not_in_the_debug_log_either(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    escaped = "".join(f"\\u{ord(c):04x}" for c in SECRET)  # decodes to the key itself
    script = Script(httpx.Response(200, content=f'{{"data": {{"code": "{escaped}"}}}}'.encode()))
    assert await client_for(script).get_invite_code(ENG) == "<hidden>"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "answer: " in logged
    assert escaped not in logged


async def test_calls_go_through_the_proxy_the_environment_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Calls skip the httpx client's layers, not its choice of transport: HTTP_PROXY holds."""
    asked: list[bytes] = []

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        asked.append(await reader.readuntil(b"\r\n\r\n"))
        body = b'{"data": []}'
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    async with server, TitanClient("http://titan.test", api_key=SECRET) as client:
        assert await client.list_groups() == []
    (request,) = asked
    assert request.startswith(b"GET http://titan.test/api/sessions/default/groups HTTP/1.1")
