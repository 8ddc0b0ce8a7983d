"""Contract: keys and scopes, sessions, the rate limit, and the shape of every answer."""

from __future__ import annotations

import pytest

from reconciler.errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    SessionNotReadyError,
)
from reconciler.sim.gateway import SlidingWindow
from reconciler.util.rates import Rate
from tests.conftest import MakeSim
from tests.support.harness import DEFAULT, ENGINEERING, READ_ONLY_KEY, Harness, gid, jid


async def test_the_session_endpoint_says_who_the_account_is(sim: Harness) -> None:
    info = await sim.client().get_session()
    assert (info.name, info.status) == ("default", "CONNECTED")
    assert info.phone == jid(DEFAULT)
    assert info.lid is not None
    assert info.lid.user == sim.world.person(DEFAULT).lid
    async with sim.raw() as http:
        body = (await http.get("/api/sessions/default")).json()["data"]
    # Titan's api-reference/sessions: flat, E.164, no `me`.
    assert body["phoneNumber"] == DEFAULT
    assert body["lid"] == f"{sim.world.person(DEFAULT).lid}@lid"
    assert "me" not in body


async def test_a_legacy_session_object_still_says_who_the_account_is(sim: Harness) -> None:
    sim.world.state.settings.session_shape = "legacy"
    info = await sim.client().get_session()
    assert info.phone == jid(DEFAULT)
    assert info.lid is not None
    assert info.lid.user == sim.world.person(DEFAULT).lid


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic dGVzdA==", "Bearer"])
async def test_a_missing_or_wrong_key_is_401_with_a_json_error(
    sim: Harness, header: str | None
) -> None:
    async with sim.raw(api_key=None) as http:
        headers = {"Authorization": header} if header else {}
        answer = await http.get("/api/sessions/default/groups", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"] == "missing or invalid API key"
    assert answer.json()["docs"].startswith("https://")


async def test_the_client_raises_authentication_error_on_401(sim: Harness) -> None:
    with pytest.raises(AuthenticationError, match="401"):
        await sim.client(api_key="wrong").list_groups()


async def test_a_read_only_key_reads_but_cannot_write(sim: Harness) -> None:
    client = sim.client(api_key=READ_ONLY_KEY)
    assert len(await client.list_groups()) == 2
    with pytest.raises(PermissionDeniedError, match="groups:manage"):
        await client.set_subject(gid(ENGINEERING), "Nope")
    assert sim.world.state.groups[0].subject == "Engineering"


async def test_unknown_session_is_404(sim: Harness) -> None:
    with pytest.raises(NotFoundError, match="session 'nobody' not found"):
        await sim.client("nobody").list_groups()


async def test_a_session_that_is_not_connected_stops_the_call_naming_status_and_reason(
    sim: Harness,
) -> None:
    with pytest.raises(SessionNotReadyError, match=r"not connected \(DISCONNECTED, MANUAL_STOP\)"):
        await sim.client("stopped").list_groups()
    info = await sim.client("stopped").get_session()
    assert (info.status, info.status_reason) == ("DISCONNECTED", "MANUAL_STOP")


async def test_every_answer_carries_rate_limit_headers_and_429_past_the_limit(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(rate_limit=SlidingWindow(Rate(3, 60)))
    async with sim.raw() as http:
        answers = [await http.get("/api/sessions/default/groups") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert {a.headers["X-RateLimit-Limit"] for a in answers} == {"3"}
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert answers[-1].json()["error"] == "rate limit exceeded"


async def test_the_rate_limit_window_slides(make_sim: MakeSim) -> None:
    now = [100.0]
    window = SlidingWindow(Rate(2, 10), clock=lambda: now[0])
    sim = make_sim(rate_limit=window)
    client = sim.client()
    await client.list_groups()
    now[0] += 6
    await client.list_groups()
    with pytest.raises(RateLimitedError) as refused:
        await client.list_groups()
    assert refused.value.retry_after == 4  # the first request leaves the window at t=110
    now[0] += 4
    # A new client: this one's pace would hold the call for Titan's 4 s, in real time.
    await sim.client().list_groups()


def test_the_rate_limit_forgets_keys_idle_for_a_whole_window() -> None:
    now = [0.0]
    window = SlidingWindow(Rate(2, 10), clock=lambda: now[0])
    for n in range(5000):  # a stream of wrong keys
        window.hit(f"wrong-{n}")
        now[0] += 0.01
    assert window.hit("wrong-0")[0]
    assert len(window._hits) <= 1024 + 1


async def test_a_fractional_rate_limit_allows_one_request_per_longer_window(
    make_sim: MakeSim,
) -> None:
    now = [0.0]
    sim = make_sim(rate_limit=SlidingWindow(Rate(0.5, 1), clock=lambda: now[0]))
    client = sim.client()
    await client.list_groups()
    now[0] += 1.5
    with pytest.raises(RateLimitedError) as refused:
        await client.list_groups()
    assert refused.value.retry_after == 1  # 0.5 s left of the 2 s window, rounded up
    now[0] += 0.5
    await sim.client().list_groups()  # (this client's pace would wait Titan's 1 s first)


async def test_the_simulators_own_failure_is_a_json_500(sim: Harness) -> None:
    path = sim.simulator.store.path
    path.unlink()
    path.mkdir()  # the world file can no longer be read
    async with sim.raw() as http:
        answer = await http.get("/api/sessions/default/groups")
    assert answer.status_code == 500
    assert "cannot read the world file" in answer.json()["error"]


async def test_success_is_wrapped_in_data_and_errors_have_error_and_docs(sim: Harness) -> None:
    async with sim.raw() as http:
        ok = await http.get(f"/api/sessions/default/groups/{ENGINEERING}")
        missing = await http.get("/api/sessions/default/groups/1@g.us")
    assert set(ok.json()) == {"data"}
    assert set(ok.json()["data"]) == {
        "id",
        "name",
        "description",
        "createdAt",
        "ownerLid",
        "participants",
    }
    assert missing.status_code == 404
    assert set(missing.json()) == {"error", "docs"}


async def test_group_ids_in_paths_work_url_encoded_and_plain(sim: Harness) -> None:
    async with sim.raw() as http:
        encoded = await http.get("/api/sessions/default/groups/120363000000000001%40g.us")
        plain = await http.get(f"/api/sessions/default/groups/{ENGINEERING}")
    assert encoded.status_code == plain.status_code == 200
    assert encoded.json() == plain.json()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"value": 5}', "value: Input should be a valid string"),
        (b'{"value": "x", "extra": 1}', "extra: Extra inputs are not permitted"),
        (b"[]", "Input should be"),
    ],
)
async def test_a_malformed_body_is_400_naming_the_problem(
    sim: Harness, body: bytes, problem: str
) -> None:
    async with sim.raw() as http:
        answer = await http.put(f"/api/sessions/default/groups/{ENGINEERING}/subject", content=body)
    assert answer.status_code == 400
    assert problem in answer.json()["error"]


async def test_unknown_routes_and_methods_answer_json_errors(sim: Harness) -> None:
    async with sim.raw() as http:
        unknown = await http.get("/api/sessions/default/nothing-here")
        wrong_method = await http.patch(f"/api/sessions/default/groups/{ENGINEERING}")
    assert unknown.status_code == 404
    assert wrong_method.status_code == 405
    assert "error" in unknown.json()
    assert "error" in wrong_method.json()
