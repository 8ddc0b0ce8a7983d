"""TitanClient: retries, backoff, Retry-After, safe creates, pacing, and a key that never leaks."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping, Sequence

import httpx
import pytest

from reconciler.errors import (
    ApiConnectionError,
    ApiError,
    ApiResponseError,
    AuthenticationError,
    BadRequestError,
    CreateUncertainError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    SessionBannedError,
    SessionNotReadyError,
    SetupError,
)
from reconciler.sim.gateway import FaultInjector
from reconciler.titan.client import RetryPolicy, TitanClient
from reconciler.util.rates import Rate
from tests.conftest import MakeSim
from tests.support.harness import ALICE, ENGINEERING, gid, jid

SECRET = "sk-live-9f8e7d6c5b4a"
ENG = gid(ENGINEERING)
Handler = Callable[[httpx.Request], httpx.Response]


CONNECTED: Mapping[str, object] = {
    "name": "default",
    "status": "CONNECTED",
    "phoneNumber": "+14155550100",
}


class Script:
    """A transport answering from a list, recording each request. The session object (read
    when a call fails in a way that may mean the session dropped) is answered apart, from
    `session`, so that scripts list only the calls under test."""

    def __init__(
        self,
        *answers: httpx.Response | Exception,
        session: Mapping[str, object] | httpx.Response | None = None,
        sessions: Sequence[Mapping[str, object]] = (),
    ) -> None:
        self.answers = list(answers)
        self.session = session or CONNECTED
        # Session objects for successive reads, before `session` answers every later one.
        self.sessions = list(sessions)
        self.requests: list[httpx.Request] = []

    @property
    def calls(self) -> list[httpx.Request]:
        """The requests sent, but for the session reads."""
        return [r for r in self.requests if not _is_session_read(r)]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if _is_session_read(request):
            session = self.sessions.pop(0) if self.sessions else self.session
            return session if isinstance(session, httpx.Response) else ok(session)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def _is_session_read(request: httpx.Request) -> bool:
    return request.method == "GET" and request.url.path.count("/") == 3


class Sleeps:
    """Stands in for asyncio.sleep: records how long the client asked to wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client_for(script: Script, sleeps: Sleeps | None = None, **options: object) -> TitanClient:
    settings: dict[str, object] = {"api_key": SECRET, "write_rate": None, **options}
    return TitanClient(
        "https://titan.test",
        transport=httpx.MockTransport(script),
        sleep=sleeps or Sleeps(),
        **settings,  # type: ignore[arg-type]
    )


def ok(data: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"data": data})


def error(status: int, message: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": message, "docs": "https://d"}, headers=headers)


async def test_every_request_carries_the_bearer_key_and_session_path() -> None:
    script = Script(ok([]))
    await client_for(script, session="sales-eu").list_groups()
    request = script.calls[0]
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert request.url.path == "/api/sessions/sales-eu/groups"


async def test_group_ids_go_into_paths_url_encoded() -> None:
    script = Script(ok({"success": True}))
    await client_for(script).set_subject(ENG, "x")
    assert (
        script.calls[0].url.raw_path
        == b"/api/sessions/default/groups/120363000000000001%40g.us/subject"
    )


async def test_retry_after_is_honoured_on_429() -> None:
    sleeps = Sleeps()
    script = Script(error(429, "slow down", **{"Retry-After": "7"}), ok([]))
    assert await client_for(script, sleeps).list_groups() == []
    assert len(script.calls) == 2
    assert len(sleeps.waits) == 1
    assert 7 <= sleeps.waits[0] <= 7 * 1.1 + 0.05


async def test_503_is_retried_with_growing_backoff_then_succeeds() -> None:
    sleeps = Sleeps()
    script = Script(error(503, "busy"), error(503, "busy"), error(502, "gateway"), ok([]))
    policy = RetryPolicy(attempts=5, initial_backoff=1.0, max_backoff=30)
    assert await client_for(script, sleeps, retry=policy).list_groups() == []
    assert len(script.calls) == 4
    # Full jitter within [ceiling/2, ceiling], ceilings 1, 2, 4.
    assert [0.5 <= sleeps.waits[0] <= 1, 1 <= sleeps.waits[1] <= 2, 2 <= sleeps.waits[2] <= 4] == [
        True,
        True,
        True,
    ]


async def test_retries_stop_after_the_attempts_allowed_and_say_so() -> None:
    sleeps = Sleeps()
    script = Script(*[error(503, "busy")] * 3)
    client = client_for(script, sleeps, retry=RetryPolicy(attempts=3))
    with pytest.raises(ServerError, match=r"HTTP 503: busy \(after 3 attempts\)") as failed:
        await client.list_groups()
    assert failed.value.method == "GET"
    assert failed.value.path == "/api/sessions/default/groups"
    assert len(script.calls) == 3


async def test_a_retry_after_beyond_the_time_budget_is_not_waited_for() -> None:
    sleeps = Sleeps()
    script = Script(error(429, "slow down", **{"Retry-After": "3600"}))
    client = client_for(script, sleeps, retry=RetryPolicy(attempts=5, total_seconds=60))
    with pytest.raises(RateLimitedError) as failed:
        await client.list_groups()
    assert failed.value.retry_after == 3600
    assert sleeps.waits == []


async def test_client_errors_are_not_retried() -> None:  # 4xx: the same again would fail
    script = Script(error(400, "bad subject"))
    with pytest.raises(BadRequestError, match="bad subject"):
        await client_for(script, retry=RetryPolicy(attempts=5)).set_subject(ENG, "x")
    assert len(script.calls) == 1


async def test_a_500_is_retried_for_calls_that_are_safe_to_repeat_only() -> None:
    reads = Script(error(500, "oops"), ok([]))
    await client_for(reads, retry=RetryPolicy(attempts=3)).list_groups()
    assert len(reads.requests) == 2
    writes = Script(error(500, "oops"), ok({"success": True}))
    await client_for(writes, retry=RetryPolicy(attempts=3)).set_subject(ENG, "x")
    assert len(writes.requests) == 2
    revoke = Script(error(500, "oops"))  # a repeat would revoke the new link as well
    with pytest.raises(ServerError):
        await client_for(revoke, retry=RetryPolicy(attempts=3)).revoke_invite_code(ENG)
    assert len(revoke.requests) == 1


async def test_connection_failures_become_api_connection_errors() -> None:
    refused = Script(*[httpx.ConnectError("[Errno 111] Connection refused")] * 2)
    with pytest.raises(ApiConnectionError, match="Connection refused") as failed:
        await client_for(refused, retry=RetryPolicy(attempts=2)).list_groups()
    assert failed.value.request_sent is False
    assert failed.value.status is None
    timeout = Script(httpx.ReadTimeout("read timed out"))
    with pytest.raises(ApiConnectionError, match="timed out"):
        await client_for(timeout, retry=RetryPolicy(attempts=1)).list_groups()


async def test_a_leave_whose_answer_was_lost_is_repeated_and_not_being_there_is_done() -> None:
    script = Script(httpx.ReadTimeout("read timed out"), error(403, "not a participant"))
    await client_for(script, retry=RetryPolicy(attempts=4)).leave_group(ENG)
    assert len(script.calls) == 2


async def test_a_delete_that_failed_is_repeated_and_the_group_gone_is_done() -> None:
    script = Script(error(500, "oops"), error(404, "group not found"))
    await client_for(script, retry=RetryPolicy(attempts=4)).delete_group(ENG)
    assert [r.method for r in script.calls] == ["DELETE", "DELETE"]


async def test_a_first_refusal_to_leave_or_delete_is_still_an_error() -> None:
    with pytest.raises(NotFoundError):
        await client_for(Script(error(404, "group not found"))).delete_group(ENG)
    with pytest.raises(PermissionDeniedError):
        await client_for(Script(error(403, "not a participant"))).leave_group(ENG)


async def test_an_answer_that_is_not_json_is_an_api_response_error() -> None:
    script = Script(httpx.Response(200, text="<html>proxy</html>"))
    with pytest.raises(ApiResponseError, match="not JSON"):
        await client_for(script).list_groups()


async def test_an_answer_of_the_wrong_shape_names_the_field() -> None:
    script = Script(ok([{"name": "no id"}]))
    with pytest.raises(ApiResponseError, match=r"at 0\.id"):
        await client_for(script).list_groups()


async def test_unwrapped_bodies_and_waha_shapes_are_accepted() -> None:
    waha = [
        {
            "id": "120363000000000001@g.us",
            "subject": "Eng",
            "participants": [{"id": "14155550101@c.us", "admin": "superadmin"}],
        }
    ]
    group = (await client_for(Script(httpx.Response(200, json=waha))).list_groups())[0]
    assert group.name == "Eng"
    assert group.participants is not None
    assert group.participants[0].phone == jid(ALICE)
    assert group.participants[0].is_super_admin
    assert group.participants[0].is_admin


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


def test_bad_session_names_and_empty_keys_are_refused_up_front() -> None:
    with pytest.raises(SetupError, match="not a valid session name"):
        TitanClient("https://titan.test", api_key=SECRET, session="../admin")
    with pytest.raises(SetupError, match="empty"):
        TitanClient("https://titan.test", api_key="")


async def test_a_lost_answer_to_create_does_not_make_a_second_group(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("lost", method="POST", path_contains="/groups")
    client = sim.client(retry=RetryPolicy(attempts=4), sleep=Sleeps())
    created = await client.create_group("Launch", [jid(ALICE)])
    launches = [g for g in sim.world.state.groups if g.subject == "Launch"]
    assert len(launches) == 1
    assert created.group.id == gid(launches[0].id)
    assert faults.injected["lost"] == 1
    assert client.stats.retries == 1


async def test_create_is_repeated_when_the_first_attempt_did_nothing(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    faults.inject("503", method="POST", path_contains="/groups")
    faults.inject("drop", method="POST", path_contains="/groups")
    client = sim.client(retry=RetryPolicy(attempts=4), sleep=Sleeps())
    await client.create_group("Launch", [jid(ALICE)])
    assert [g.subject for g in sim.world.state.groups].count("Launch") == 1
    # Two failed attempts, each followed by a look-up that found nothing, then the create.
    assert sim.simulator.stats.by_call["POST /api/sessions/default/groups"] == 3


async def test_create_found_despite_a_same_named_older_group(make_sim: MakeSim) -> None:
    faults = FaultInjector()
    sim = make_sim(faults=faults)
    await sim.client().create_group("Launch", [])
    sim.world.state.groups[-1].created_at = 1  # an old group of the same name
    faults.inject("lost", method="POST", path_contains="/groups")
    client = sim.client(retry=RetryPolicy(attempts=4), sleep=Sleeps())
    created = await client.create_group("Launch", [jid(ALICE)])
    launches = [g for g in sim.world.state.groups if g.subject == "Launch"]
    assert len(launches) == 2
    assert created.group.id == gid(launches[-1].id)
    assert created.group.id != gid(launches[0].id)


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


async def test_a_timed_out_create_is_not_repeated() -> None:
    script = Script(
        httpx.ReadTimeout("read timed out"),
        ok([]),  # not there yet: Titan may still be making it
    )
    client = client_for(script, retry=RetryPolicy(attempts=5))
    with pytest.raises(CreateUncertainError, match=r"timed out .* not created again"):
        await client.create_group("Launch", [jid(ALICE)])
    assert [r.method for r in script.calls].count("POST") == 1


async def test_a_same_named_group_without_a_creation_time_stops_a_second_create() -> None:
    me = "14155550100@s.whatsapp.net"
    group = {
        "id": "120363000000000007@g.us",
        "name": "Launch",
        "participants": [{"phoneNumber": me, "isSuperAdmin": True}],
    }
    script = Script(
        error(503, "busy"),
        ok([{"id": group["id"], "name": "Launch"}]),
        ok(group),
    )
    client = client_for(script, retry=RetryPolicy(attempts=5))
    with pytest.raises(CreateUncertainError, match="no creation time"):
        await client.create_group("Launch", [jid(ALICE)])
    assert [r.method for r in script.calls].count("POST") == 1


async def test_backoff_is_jittered() -> None:
    firsts = []
    for _ in range(8):
        sleeps = Sleeps()
        script = Script(error(503, "busy"), ok([]))
        await client_for(
            script, sleeps, retry=RetryPolicy(attempts=2, initial_backoff=1.0)
        ).list_groups()
        firsts.append(sleeps.waits[0])
    assert all(0.5 <= wait <= 1.0 for wait in firsts)
    assert len(set(firsts)) > 1  # clients that failed together do not come back together


async def test_participant_calls_send_the_seed_body_with_the_session() -> None:
    script = Script(ok({"results": []}))
    await client_for(script, session="sales").add_participants(ENG, [jid(ALICE)])
    assert json.loads(script.calls[0].content) == {
        "session": "sales",
        "participants": ["14155550101@s.whatsapp.net"],
    }


async def test_every_group_write_with_a_body_names_the_session() -> None:
    script = Script(*[ok({"success": True})] * 4, ok({"id": "120363000000000009@g.us"}))
    client = client_for(script, session="sales")
    await client.set_subject(ENG, "New")
    await client.set_description(ENG, "Text")
    await client.set_picture(ENG, url="https://example.com/a.jpg")
    await client.promote_participants(ENG, [jid(ALICE)])
    await client.join_group("ABcDeFgHiJk")
    bodies = [json.loads(request.content) for request in script.calls]
    assert [body["session"] for body in bodies] == ["sales"] * 5


async def test_a_503_reads_the_session_and_a_banned_account_stops_every_later_call() -> None:
    banned = {"name": "default", "status": "DISCONNECTED", "statusReason": "TEMPORARY_BAN"}
    script = Script(error(503, "unavailable"), session=banned)
    client = client_for(script, retry=RetryPolicy(attempts=5))
    with pytest.raises(SessionBannedError, match=r"TEMPORARY_BAN.*temporarily banned"):
        await client.add_participants(ENG, [jid(ALICE)])
    with pytest.raises(SessionBannedError, match="not sent"):
        await client.set_subject(ENG, "Later")
    assert [r.method for r in script.calls] == ["POST"]  # never retried, nothing after it


async def test_a_reconnecting_session_is_waited_for_then_the_call_is_retried() -> None:
    reconnecting = {"name": "default", "status": "CONNECTING", "statusReason": "AUTO_RECONNECT"}
    script = Script(error(503, "unavailable"), ok({"success": True}), sessions=[reconnecting] * 3)
    sleeps = Sleeps()
    client = client_for(script, sleeps, retry=RetryPolicy(attempts=5))
    await client.set_subject(ENG, "Back")
    assert [r.method for r in script.calls] == ["PUT", "PUT"]
    assert sleeps.waits[:3] == [1.0, 2.0, 4.0]  # the reconnect polls back off


async def test_a_session_that_stays_reconnecting_stops_at_the_deadline_not_after() -> None:
    reconnecting = {"name": "default", "status": "CONNECTING", "statusReason": "AUTO_RECONNECT"}
    script = Script(error(503, "unavailable"), session=reconnecting)
    sleeps = Sleeps()
    client = client_for(script, sleeps, reconnect_wait=10)
    with pytest.raises(SessionNotReadyError, match="reconnecting it by itself"):
        await client.set_subject(ENG, "Never")
    assert sleeps.waits == [1.0, 2.0, 4.0, 3.0]  # 10 s in all, the last wait cut short
    assert [r.method for r in script.calls] == ["PUT"]


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


def test_a_client_token_is_refused_before_any_call() -> None:
    with pytest.raises(SetupError, match="client token"):
        TitanClient("https://titan.test", api_key="titan_ct_abcdef0123456789")


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


async def test_repeated_failures_of_any_kind_read_the_session_and_stop_when_it_is_gone() -> None:
    logged_out = {"name": "default", "status": "DISCONNECTED", "statusReason": "LOGGED_OUT"}
    script = Script(*[error(500, "internal")] * 6, session=logged_out)
    client = client_for(script, retry=RetryPolicy(attempts=6))
    with pytest.raises(SessionNotReadyError, match="pair the phone again"):
        await client.set_subject(ENG, "x")
    # Three 500s in a row, then the session read, then nothing more: not six attempts.
    assert [r.method for r in script.calls] == ["PUT"] * 3
    assert len(script.requests) == 4


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


async def test_scopes_are_checked_by_refusals_and_a_failed_check_is_no_verdict() -> None:
    script = Script(
        ok([]),  # groups:read
        error(404, "group not found"),  # groups:manage: the key got through
        error(500, "internal"),  # messages:write: cannot tell
    )
    sleeps = Sleeps()
    client = client_for(script, sleeps, write_rate=Rate(1, 3600), retry=RetryPolicy(attempts=1))
    found = await client.check_scopes()
    assert {scope: check.present for scope, check in found.items()} == {
        "sessions:read": True,
        "groups:read": True,
        "groups:manage": True,
        "messages:write": None,
    }
    assert "HTTP 500" in found["messages:write"].why


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
