"""The session guard: a failure that may mean the session dropped reads it; a reconnecting
session is waited for, a gone one stops every later call (titan.session_guard)."""

from __future__ import annotations

import pytest

from reconciler.errors import SessionBannedError, SessionNotReadyError
from reconciler.titan.retries import RetryPolicy
from tests.support.harness import ALICE, jid
from tests.titan.scripted import ENG, Script, Sleeps, client_for, error, ok


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


async def test_repeated_failures_of_any_kind_read_the_session_and_stop_when_it_is_gone() -> None:
    logged_out = {"name": "default", "status": "DISCONNECTED", "statusReason": "LOGGED_OUT"}
    script = Script(*[error(500, "internal")] * 6, session=logged_out)
    client = client_for(script, retry=RetryPolicy(attempts=6))
    with pytest.raises(SessionNotReadyError, match="pair the phone again"):
        await client.set_subject(ENG, "x")
    # Three 500s in a row, then the session read, then nothing more: not six attempts.
    assert [r.method for r in script.calls] == ["PUT"] * 3
    assert len(script.requests) == 4
