"""Retries: Retry-After, backoff with jitter, the attempts and time allowed, and which
failures are repeated for which calls (titan.retries)."""

from __future__ import annotations

import pytest

from reconciler.errors import BadRequestError, RateLimitedError, ServerError
from reconciler.titan.retries import RetryPolicy
from tests.titan.scripted import ENG, Script, Sleeps, client_for, error, ok


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


async def test_a_revocation_answered_without_the_new_code_is_a_revocation_all_the_same() -> None:
    """Titan documents no answer for DELETE /invite: one without a code is no error."""
    for answer in ({"success": True}, None, {"code": ""}):
        assert await client_for(Script(ok(answer))).revoke_invite_code(ENG) is None
    assert await client_for(Script(ok({"code": "NewCode1"}))).revoke_invite_code(ENG) == "NewCode1"
