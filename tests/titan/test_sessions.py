"""What each session status and reason means for a run, and what a person is told."""

from __future__ import annotations

import pytest

from reconciler.errors import SessionNotReadyError
from reconciler.titan.sessions import SessionVerdict, describe, verdict


@pytest.mark.parametrize(
    ("status", "reason", "decision", "advice"),
    [
        ("CONNECTED", None, SessionVerdict.PROCEED, None),
        ("CONNECTING", "AUTO_RECONNECT", SessionVerdict.WAIT, "reconnecting it by itself"),
        ("CONNECTING", None, SessionVerdict.WAIT, "reconnecting it by itself"),
        ("CONNECTING", "SCAN_QR", SessionVerdict.PAIR, "pair the phone again"),
        ("DISCONNECTED", "QR_TIMEOUT", SessionVerdict.PAIR, "pair the phone again"),
        ("DISCONNECTED", "LOGGED_OUT", SessionVerdict.PAIR, "pair the phone again"),
        ("DISCONNECTED", "MANUAL_STOP", SessionVerdict.STOP, "stopped on purpose"),
        ("DISCONNECTED", "FAILED", SessionVerdict.RETRY, "connection to WhatsApp failed"),
        ("DISCONNECTED", "STREAM_ERROR", SessionVerdict.RETRY, "connection to WhatsApp failed"),
        ("DISCONNECTED", "TEMPORARY_BAN", SessionVerdict.BANNED, "temporarily banned"),
        ("DISCONNECTED", None, SessionVerdict.STOP, "Titan gives no reason"),
        ("DISCONNECTED", "SOMETHING_NEW", SessionVerdict.STOP, "Titan gives no reason"),
    ],
)
def test_each_state_has_its_decision_and_its_advice(
    status: str, reason: str | None, decision: SessionVerdict, advice: str | None
) -> None:
    assert verdict(status, reason) is decision
    if advice is not None:
        assert advice in describe("default", status, reason)


def test_a_session_error_names_the_call_and_the_state_not_a_missing_answer() -> None:
    error = SessionNotReadyError(
        method="GET",
        path="/api/sessions/default",
        status=None,
        message=describe("default", "DISCONNECTED", "LOGGED_OUT"),
        session_status="DISCONNECTED",
        status_reason="LOGGED_OUT",
    )
    assert str(error).startswith(
        "GET /api/sessions/default: session 'default' is not connected (DISCONNECTED, LOGGED_OUT)"
    )
    assert "no answer" not in str(error)
